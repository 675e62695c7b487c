// Parse iCalendar files with Mozilla ical.js (the parser Thunderbird uses) and
// print what it read as JSON, for the Python tests to compare with the agenda.
// Usage: node parse.mjs FILE... → [{file, name, refresh, timezones, events: [...]}]
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const out = [];
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  const vcalendar = new ICAL.Component(ICAL.parse(text));
  const events = vcalendar.getAllSubcomponents("vevent").map((vevent) => {
    const event = new ICAL.Event(vevent);
    const dtstart = vevent.getFirstProperty("dtstart");
    return {
      uid: event.uid,
      start: event.startDate.toString(),
      end: event.endDate.toString(),
      isDate: event.startDate.isDate,
      valueType: dtstart.type,
      summary: event.summary,
      description: event.description,
      sequence: event.sequence,
      dtstamp: vevent.getFirstPropertyValue("dtstamp").toString(),
      status: vevent.getFirstPropertyValue("status"),
      categories: vevent.getFirstProperty("categories").getValues(),
      alarms: vevent.getAllSubcomponents("valarm").map((alarm) => ({
        action: alarm.getFirstPropertyValue("action"),
        trigger: alarm.getFirstPropertyValue("trigger").toString(),
        related: alarm.getFirstProperty("trigger").getParameter("related"),
      })),
    };
  });
  out.push({
    file,
    name: vcalendar.getFirstPropertyValue("x-wr-calname"),
    refresh: vcalendar.getFirstPropertyValue("refresh-interval")?.toString() ?? null,
    timezones: vcalendar.getAllSubcomponents("vtimezone").map((tz) => tz.getFirstPropertyValue("tzid")),
    events,
  });
}
process.stdout.write(JSON.stringify(out));
