package shared

import (
	"strings"
	"time"
	_ "time/tzdata" // a Pi without /usr/share/zoneinfo still knows Europe/Berlin

	"github.com/robfig/cron/v3"
)

// DefaultTimezone is a schedule's zone when none is given (SPEC §9).
const DefaultTimezone = "UTC"

// CodeInvalidSchedule: a cron expression or time zone that does not parse.
const CodeInvalidSchedule = "invalid_schedule"

// cronParser reads the standard five fields, names (JAN, MON) and the
// @-macros. Seconds, @every and a CRON_TZ= prefix are not standard cron:
// the zone is a field of its own.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// starBit is robfig/cron's mark of a field written as "*".
const starBit = 1 << 63

// Cron is a parsed schedule: a cron expression in an IANA time zone.
type Cron struct {
	expr string
	loc  *time.Location
	spec *cron.SpecSchedule
}

// ParseCron parses a schedule's expression and zone (SPEC §9). An empty
// zone is UTC. Errors are 422 invalid_schedule naming the field.
func ParseCron(expr, timezone string) (*Cron, error) {
	if timezone == "" {
		timezone = DefaultTimezone
	}
	loc, err := loadZone(timezone)
	if err != nil {
		return nil, err
	}
	expr = strings.TrimSpace(expr)
	if err := checkCronSyntax(expr); err != nil {
		return nil, err
	}
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, invalidSchedule("cron", "%q is not a cron expression: %v", expr, err)
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok { // only @every makes another kind, and checkCronSyntax refuses it
		return nil, invalidSchedule("cron", "%q is not a cron expression", expr)
	}
	spec.Location = loc
	return &Cron{expr: expr, loc: loc, spec: spec}, nil
}

// checkCronSyntax refuses what robfig/cron accepts beyond standard cron.
func checkCronSyntax(expr string) error {
	switch {
	case expr == "":
		return invalidSchedule("cron", "the cron expression is empty")
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		return invalidSchedule("cron", "give the time zone in the timezone field, not in the expression")
	case strings.HasPrefix(expr, "@"):
		switch expr {
		case "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly":
			return nil
		}
		return invalidSchedule("cron", "%q is not a known macro; use @hourly, @daily, @weekly, @monthly or @yearly", expr)
	}
	if n := len(strings.Fields(expr)); n != 5 {
		return invalidSchedule("cron", "a cron expression has 5 fields (minute hour day-of-month month day-of-week), not %d", n)
	}
	return nil
}

func loadZone(name string) (*time.Location, error) {
	// LoadLocation also takes "Local" and file-system paths; a schedule
	// must mean the same on every node, so only IANA names are accepted.
	if name == "Local" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil, invalidSchedule("timezone", "%q is not an IANA time zone name (e.g. Europe/Berlin)", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, invalidSchedule("timezone", "%q is not an IANA time zone name (e.g. Europe/Berlin)", name)
	}
	return loc, nil
}

func invalidSchedule(field, format string, args ...any) *Error {
	return Errorf(CodeInvalidSchedule, format, args...).With("field", field)
}

// String is the expression as given (trimmed).
func (c *Cron) String() string { return c.expr }

// Location is the schedule's zone.
func (c *Cron) Location() *time.Location { return c.loc }

// Next returns the first time after t that the schedule fires, in UTC, or
// the zero time when there is none within five years (e.g. 30 February).
//
// Daylight-saving days are handled as cron does: a local time that is
// skipped does not run that day, and a local time that occurs twice runs
// once, at its first occurrence, unless the hour field is "*": an hourly
// or more frequent schedule runs in both of the repeated hours, which are
// an hour apart in real time.
func (c *Cron) Next(t time.Time) time.Time {
	next := c.spec.Next(t)
	for !next.IsZero() && c.spec.Hour&starBit == 0 && repeatedLocalTime(next.In(c.loc)) {
		next = c.spec.Next(next)
	}
	return next.UTC()
}

// NextN returns the next n firing times after t.
func (c *Cron) NextN(t time.Time, n int) []time.Time {
	out := make([]time.Time, 0, n)
	for len(out) < n {
		t = c.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

// repeatedLocalTime reports whether t's wall-clock time already happened
// earlier that day: the second pass through the hour that a fall-back
// transition repeats.
func repeatedLocalTime(t time.Time) bool {
	_, off := t.Zone()
	_, before := t.Add(-3 * time.Hour).Zone()
	if before <= off {
		return false // no fall-back transition in the last hours
	}
	first := t.Add(-time.Duration(before-off) * time.Second)
	return first.Hour() == t.Hour() && first.Minute() == t.Minute() && first.Day() == t.Day()
}
