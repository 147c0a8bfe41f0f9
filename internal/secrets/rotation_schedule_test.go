package secrets

import (
	"testing"
	"time"
)

// Expressions from AWS's "Rotation schedules" documentation, and the
// constraints it states (minutes 0, year *, 4 hours at least, windows
// within the UTC day and not overlapping).
func TestParseSchedule(t *testing.T) {
	base := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	d := func(day, hour int) time.Time { return time.Date(2026, 1, day, hour, 0, 0, 0, time.UTC) }
	valid := []struct {
		days       int64
		expr, dur  string
		start, end time.Time
		afterDays  int64
	}{
		{days: 30, start: d(31, 0), end: d(32, 0), afterDays: 30},
		{days: 1, dur: "3h", start: d(2, 0), end: d(2, 3), afterDays: 1},
		{expr: "rate(10 days)", start: d(11, 0), end: d(12, 0), afterDays: 10},
		{expr: "rate(4 hours)", start: d(1, 16), end: d(1, 17), afterDays: 1},
		{expr: "rate(1 day)", dur: "2h", start: d(2, 0), end: d(2, 2), afterDays: 1},
		{expr: "cron(0 16 1,15 * ? *)", dur: "2h", start: d(1, 16), end: d(1, 18), afterDays: 14},
		{expr: "cron(0 4/12 * * ? *)", start: d(1, 16), end: d(1, 17), afterDays: 1},
		{expr: "cron(0 8 ? * MON-FRI *)", start: d(2, 8), end: d(3, 0), afterDays: 1},
		{expr: "cron(0 10 ? * 6#2 *)", start: d(9, 10), end: d(10, 0), afterDays: 28},
		{expr: "cron(0 0 L * ? *)", start: d(31, 0), end: d(32, 0), afterDays: 28},
		{expr: "cron(0 1 ? JAN-MAR SUNL *)", start: d(25, 1), end: d(26, 0), afterDays: 28},
	}
	for _, c := range valid {
		s, err := ParseSchedule(c.days, c.expr, c.dur)
		if err != nil {
			t.Errorf("%d %q %q: %v", c.days, c.expr, c.dur, err)
			continue
		}
		start, end := s.nextWindow(base)
		if !start.Equal(c.start) || !end.Equal(c.end) {
			t.Errorf("%d %q %q: window %v - %v, want %v - %v", c.days, c.expr, c.dur, start, end, c.start, c.end)
		}
		if got := s.afterDays(); got != c.afterDays {
			t.Errorf("%q: AutomaticallyAfterDays %d, want %d", c.expr, got, c.afterDays)
		}
	}
	invalid := []struct {
		days      int64
		expr, dur string
	}{
		{},                              // neither
		{days: 3, expr: "rate(3 days)"}, // both
		{days: 1001},
		{days: -1},
		{expr: "rate(3 hours)"},
		{expr: "rate(0 days)"},
		{expr: "rate(2 weeks)"},
		{expr: "rate(4hours)"},
		{expr: "cron(30 0 * * ? *)"},   // minutes must be 0
		{expr: "cron(0 0 * * ? 2027)"}, // year must be *
		{expr: "cron(0 0 * * * *)"},    // one day field must be ?
		{expr: "cron(0 0 ? * ? *)"},    // not both
		{expr: "cron(0 */2 * * ? *)"},  // every 2 hours < 4
		{expr: "cron(0 1,3 * * ? *)"},  // 2 hours apart
		{expr: "cron(0 0 * *)"},        // fields
		{expr: "0 0 * * ? *"},          // not wrapped
		{days: 1, dur: "25h"},
		{days: 1, dur: "0h"},
		{days: 1, dur: "2d"},
		{expr: "cron(0 20 * * ? *)", dur: "5h"},    // past midnight
		{expr: "rate(4 hours)", dur: "5h"},         // overlaps the next window
		{expr: "cron(0 4/12 * * ? *)", dur: "13h"}, // past midnight
	}
	for _, c := range invalid {
		if _, err := ParseSchedule(c.days, c.expr, c.dur); err == nil {
			t.Errorf("%d %q %q: accepted", c.days, c.expr, c.dur)
		} else if e, ok := err.(*Error); !ok || e.Kind != KindInvalidParameter {
			t.Errorf("%d %q %q: %v, want InvalidParameterException", c.days, c.expr, c.dur, err)
		}
	}
}
