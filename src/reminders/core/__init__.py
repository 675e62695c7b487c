"""The pure core: rules, work calendar, periods and expansion. No clock, no I/O."""
