// Progressive: warn about a file over the upload limit before it is sent.
(function () {
  function size(n) {
    return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(n / 1024)) + " KB";
  }
  document.querySelectorAll("input[type=file][data-max]").forEach(function (input) {
    var form = input.form;
    var msg = form.querySelector(".file-msg");
    function check() {
      var file = input.files && input.files[0];
      var max = Number(input.dataset.max);
      if (file && file.size > max) {
        msg.textContent = "文件“" + file.name + "”为 " + size(file.size) + "，超过 " + size(max) + " 上限，请压缩或拆分后再选。";
        msg.className = "file-msg bad";
        return false;
      }
      msg.textContent = file ? "已选：" + file.name + "（" + size(file.size) + "）" : "";
      msg.className = "file-msg";
      return true;
    }
    input.addEventListener("change", check);
    form.addEventListener("submit", function (event) {
      if (!check()) event.preventDefault();
    });
  });
})();
