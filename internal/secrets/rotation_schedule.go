package secrets

// Rotation schedules (BEHAVIOUR.md §10.1): AutomaticallyAfterDays, rate()
// and cron() expressions in AWS's dialect, with an optional window
// Duration. All times are UTC.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/winebarrel/cronplan/v2"
)

const (
	day             = 24 * time.Hour
	minRotationGap  = 4 * time.Hour // the shortest interval AWS allows
	scheduleHorizon = 60            // occurrences checked for gaps and windows
)

// Schedule is a parsed rotation schedule.
type Schedule struct {
	days     int64 // AutomaticallyAfterDays, or rate(N days)
	hours    int64 // rate(N hours)
	cron     *cronplan.Expression
	subDaily bool          // cron with several occurrences a day
	cronDays int64         // afterDays of a cron, from its occurrences (0: at most one)
	window   time.Duration // 0: the default window
}

func invalidRules(format string, args ...any) *Error {
	return errorf(KindInvalidParameter, format, args...)
}

// ParseSchedule checks rotation rules as RotateSecret receives them: exactly
// one of days (1-1000) and expr, and an optional duration ("Nh").
func ParseSchedule(days int64, expr, duration string) (*Schedule, error) {
	s, err := parseRules(days, expr, duration)
	if err != nil {
		return nil, err
	}
	return s, s.checkWindows()
}

// parseRules is ParseSchedule without the window checks, which rules
// stored after ParseSchedule accepted them pass anyway.
func parseRules(days int64, expr, duration string) (*Schedule, error) {
	s := &Schedule{}
	switch {
	case days != 0 && expr != "":
		return nil, invalidRules("You can't specify both AutomaticallyAfterDays and ScheduleExpression in RotationRules.")
	case days != 0:
		if days < 1 || days > 1000 {
			return nil, invalidRules("RotationRules.AutomaticallyAfterDays must be within 1-1000.")
		}
		s.days = days
	case expr != "":
		if err := s.parseExpr(expr); err != nil {
			return nil, err
		}
	default:
		return nil, invalidRules("RotationRules must specify AutomaticallyAfterDays or ScheduleExpression.")
	}
	if duration != "" {
		h, ok := strings.CutSuffix(duration, "h")
		n, err := strconv.Atoi(h)
		if !ok || err != nil || n < 1 || n > 24 {
			return nil, invalidRules("The rotation window Duration %q is not valid: use 1h to 24h.", duration)
		}
		s.window = time.Duration(n) * time.Hour
	}
	return s, nil
}

func (s *Schedule) parseExpr(expr string) error {
	bad := func(why string) error {
		return invalidRules("The schedule expression %q is not valid: %s.", expr, why)
	}
	if inner, ok := strings.CutPrefix(expr, "rate("); ok {
		inner, ok = strings.CutSuffix(inner, ")")
		f := strings.Fields(inner)
		if !ok || len(f) != 2 {
			return bad("use rate(N hours) or rate(N days)")
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 1 {
			return bad("the rate must be a positive whole number")
		}
		switch f[1] {
		case "hour", "hours":
			if n < 4 {
				return bad("the shortest rotation interval is 4 hours")
			}
			s.hours = n
		case "day", "days":
			if n > 1000 {
				return bad("the longest rotation interval is 1000 days")
			}
			s.days = n
		default:
			return bad("the unit must be hours or days")
		}
		return nil
	}
	inner, ok := strings.CutPrefix(expr, "cron(")
	if ok {
		inner, ok = strings.CutSuffix(inner, ")")
	}
	if !ok {
		return bad("use rate() or cron()")
	}
	f := strings.Fields(inner)
	if len(f) != 6 {
		return bad("a cron expression has six fields")
	}
	if f[0] != "0" {
		return bad("the minutes field must be 0")
	}
	if f[5] != "*" {
		return bad("the year field must be *")
	}
	c, err := cronplan.Parse(strings.Join(f, " "))
	if err != nil {
		return bad("it does not parse")
	}
	s.cron = c
	occ := c.NextN(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), scheduleHorizon)
	if len(occ) < 2 {
		return nil
	}
	for i := 1; i < len(occ); i++ {
		gap := occ[i].Sub(occ[i-1])
		if gap < minRotationGap {
			return bad("the shortest rotation interval is 4 hours")
		}
		if midnight(occ[i]).Equal(midnight(occ[i-1])) {
			s.subDaily = true
		}
		if d := int64(gap / day); s.cronDays == 0 || d < s.cronDays {
			s.cronDays = d
		}
	}
	return nil
}

// checkWindows refuses a window that crosses midnight UTC or overlaps the
// next window.
func (s *Schedule) checkWindows() error {
	if s.window == 0 {
		return nil
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for range scheduleHorizon {
		start, end := s.nextWindow(base)
		if start.IsZero() {
			return nil
		}
		if end.After(midnight(start).Add(day)) {
			return invalidRules("The rotation window can't extend past midnight UTC: shorten Duration.")
		}
		if next, _ := s.nextWindow(start); !next.IsZero() && end.After(next) {
			return invalidRules("The rotation window can't overlap the next rotation window: shorten Duration.")
		}
		base = start
		if s.cron == nil {
			return nil // the same shape every time
		}
	}
	return nil
}

// nextWindow returns the first rotation window that opens after base (the
// last rotation or value change): its start and its end, by which the
// rotation will have run. Both are zero when the schedule never fires again.
func (s *Schedule) nextWindow(base time.Time) (start, end time.Time) {
	base = base.UTC()
	var dflt time.Duration
	switch {
	case s.cron != nil:
		start = s.cron.Next(base.Truncate(time.Minute).Add(time.Minute))
		if start.IsZero() {
			return start, start
		}
		if s.subDaily {
			dflt = time.Hour
		} else {
			dflt = midnight(start).Add(day).Sub(start)
		}
	case s.hours != 0:
		start = base.Truncate(time.Hour).Add(time.Duration(s.hours) * time.Hour)
		dflt = time.Hour
	default:
		start = midnight(base).Add(time.Duration(s.days) * day)
		dflt = day
	}
	w := s.window
	if w == 0 {
		w = dflt
	}
	return start, start.Add(w)
}

// afterDays is the AutomaticallyAfterDays DescribeSecret reports: the days
// configured, or for an expression the shortest gap between its
// occurrences in whole days (at least 1).
func (s *Schedule) afterDays() int64 {
	switch {
	case s.cron != nil:
		return max(1, s.cronDays)
	case s.hours != 0:
		return max(1, s.hours/24)
	}
	return s.days
}

// String describes the schedule for operators.
func (s *Schedule) String() string {
	switch {
	case s.cron != nil:
		return "cron(" + s.cron.String() + ")"
	case s.hours != 0:
		return fmt.Sprintf("every %d hours", s.hours)
	}
	return fmt.Sprintf("every %d days", s.days)
}
