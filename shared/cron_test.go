package shared

import (
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestCronNext(t *testing.T) {
	tests := []struct {
		name, cron, zone, after string
		want                    []string // the next firing times, in order
	}{
		{"every minute", "* * * * *", "", "2026-12-02T10:00:30Z",
			[]string{"2026-12-02T10:01:00Z", "2026-12-02T10:02:00Z"}},
		{"on the minute is after, not at", "*/5 * * * *", "UTC", "2026-12-02T10:05:00Z",
			[]string{"2026-12-02T10:10:00Z"}},
		{"steps ranges and lists", "0,30 9-10 * * 1-5", "UTC", "2026-12-04T10:45:00Z", // a Friday
			[]string{"2026-12-07T09:00:00Z", "2026-12-07T09:30:00Z", "2026-12-07T10:00:00Z"}},
		{"month and weekday names", "0 9 * JAN MON", "UTC", "2026-12-02T00:00:00Z",
			[]string{"2027-01-04T09:00:00Z", "2027-01-11T09:00:00Z"}},
		{"zone shifts the hour", "0 3 * * *", "Europe/Berlin", "2026-12-02T00:00:00Z",
			[]string{"2026-12-02T02:00:00Z", "2026-12-03T02:00:00Z"}},

		// Europe/Berlin springs forward on 29 March 2026 (02:00 → 03:00):
		// 02:30 does not exist that day and does not run.
		{"Berlin spring forward skips the missing time", "30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z",
			[]string{"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"}},
		// ... and falls back on 25 October 2026 (03:00 → 02:00): 02:30
		// happens twice and runs once, at the first.
		{"Berlin fall back runs the repeated time once", "30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{"fixed hour with steps in the repeated hour runs once", "*/30 2 * * *", "Europe/Berlin", "2026-10-24T23:45:00Z",
			[]string{"2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:00:00Z"}},
		// New York falls back on 1 November 2026 (02:00 EDT → 01:00 EST):
		// an hourly schedule runs in both 01:00 hours, an hour apart.
		{"New York hourly through fall back", "0 * * * *", "America/New_York", "2026-11-01T04:30:00Z",
			[]string{"2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"}},
		{"New York hourly through spring forward", "0 * * * *", "America/New_York", "2026-03-08T06:30:00Z",
			[]string{"2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"}}, // 02:00 EST is never shown: 01:00 EST, then 03:00 EDT

		{"leap day", "0 12 29 2 *", "UTC", "2026-03-01T00:00:00Z",
			[]string{"2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z"}},
		{"@monthly from the 31st is the 1st", "@monthly", "UTC", "2026-01-31T10:00:00Z",
			[]string{"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"}},
		{"the 31st skips short months", "0 0 31 * *", "UTC", "2026-01-31T10:00:00Z",
			[]string{"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z"}},
		{"@hourly", "@hourly", "UTC", "2026-12-02T10:00:00Z", []string{"2026-12-02T11:00:00Z"}},
		{"@daily in a zone", "@daily", "Asia/Tokyo", "2026-12-02T10:00:00Z", []string{"2026-12-02T15:00:00Z"}},
		{"@weekly is Sunday midnight", "@weekly", "UTC", "2026-12-02T10:00:00Z", []string{"2026-12-06T00:00:00Z"}},
		{"@yearly", "@yearly", "UTC", "2026-12-02T10:00:00Z", []string{"2027-01-01T00:00:00Z"}},
		{"day of month or day of week, as cron", "0 0 13 * FRI", "UTC", "2026-12-02T00:00:00Z",
			[]string{"2026-12-04T00:00:00Z", "2026-12-11T00:00:00Z", "2026-12-13T00:00:00Z"}},
		{"never", "0 0 30 2 *", "UTC", "2026-12-02T00:00:00Z", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCron(tc.cron, tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			got := c.NextN(utc(tc.after), len(tc.want)+1)
			for i, w := range tc.want {
				if i >= len(got) || !got[i].Equal(utc(w)) {
					t.Fatalf("next times after %s = %v, want %v first", tc.after, got, tc.want)
				}
				if got[i].Location() != time.UTC {
					t.Errorf("next time %v is not in UTC", got[i])
				}
			}
			if tc.want == nil && len(got) != 0 {
				t.Fatalf("a schedule that never fires gave %v", got)
			}
		})
	}
}

func TestParseCronRejects(t *testing.T) {
	tests := []struct {
		name, cron, zone, field string
	}{
		{"empty", "", "", "cron"},
		{"four fields", "* * * *", "", "cron"},
		{"six fields (seconds)", "0 * * * * *", "", "cron"},
		{"minute out of range", "60 * * * *", "", "cron"},
		{"hour out of range", "0 24 * * *", "", "cron"},
		{"unknown name", "0 0 * FOO *", "", "cron"},
		{"backwards range", "0 0 * * 5-1", "", "cron"},
		{"@every is not standard cron", "@every 1m", "", "cron"},
		{"@reboot", "@reboot", "", "cron"},
		{"zone inside the expression", "CRON_TZ=UTC * * * * *", "", "cron"},
		{"unknown zone", "* * * * *", "Mars/Olympus", "timezone"},
		{"Local means different things on different nodes", "* * * * *", "Local", "timezone"},
		{"a path is not a zone", "* * * * *", "../../etc/passwd", "timezone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCron(tc.cron, tc.zone)
			e, ok := AsError(err)
			if !ok || e.Code != CodeInvalidSchedule || e.Status != 422 {
				t.Fatalf("ParseCron(%q, %q) = %v, want 422 invalid_schedule", tc.cron, tc.zone, err)
			}
			if e.Detail("field") != tc.field {
				t.Errorf("field = %q, want %q", e.Detail("field"), tc.field)
			}
			if e.Message == "" {
				t.Error("no message for a person")
			}
		})
	}
}

func TestParseCronDefaultsToUTC(t *testing.T) {
	c, err := ParseCron("  0 0 * * *  ", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Location().String() != "UTC" || c.String() != "0 0 * * *" {
		t.Fatalf("got %s in %s", c, c.Location())
	}
}

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"* * * * *", "*/5 1-3 * JAN-MAR MON,FRI", "@daily", "0 0 31 2 *", "61 * * * *"} {
		f.Add(s, "Europe/Berlin")
	}
	f.Fuzz(func(t *testing.T, expr, zone string) {
		c, err := ParseCron(expr, zone)
		if err != nil {
			if _, ok := AsError(err); !ok {
				t.Fatalf("error is not a contract error: %v", err)
			}
			return
		}
		from := utc("2026-01-01T00:00:00Z")
		for _, n := range c.NextN(from, 3) {
			if !n.After(from) {
				t.Fatalf("%q: next %v is not after %v", expr, n, from)
			}
			from = n
		}
	})
}
