package cronjob

import (
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	utc := func(s string) time.Time {
		tt, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata")
	}
	for _, tc := range []struct {
		spec string
		from time.Time
		want time.Time
	}{
		{"* * * * *", utc("2026-03-01 10:00"), utc("2026-03-01 10:01")},
		{"* * * * *", utc("2026-03-01 10:00").Add(30 * time.Second), utc("2026-03-01 10:01")},
		{"*/15 * * * *", utc("2026-03-01 10:16"), utc("2026-03-01 10:30")},
		{"5 4 * * *", utc("2026-03-01 10:00"), utc("2026-03-02 04:05")},
		{"0 0 1 1 *", utc("2026-03-01 10:00"), utc("2027-01-01 00:00")},
		{"@hourly", utc("2026-03-01 10:59"), utc("2026-03-01 11:00")},
		{"@daily", utc("2026-03-01 10:00"), utc("2026-03-02 00:00")},
		{"@weekly", utc("2026-03-01 10:00"), utc("2026-03-08 00:00")}, // 1 March 2026 is a Sunday
		{"@monthly", utc("2026-03-01 10:00"), utc("2026-04-01 00:00")},
		{"@yearly", utc("2026-03-01 10:00"), utc("2027-01-01 00:00")},
		{"0 9 * * mon-fri", utc("2026-03-06 10:00"), utc("2026-03-09 09:00")},
		{"0 0 13 * 5", utc("2026-03-01 00:00"), utc("2026-03-06 00:00")},                               // day 13 or Friday
		{"0 0 */2 * *", utc("2026-03-01 00:00"), utc("2026-03-03 00:00")},                              // odd days
		{"0 0 31 * *", utc("2026-04-01 00:00"), utc("2026-05-31 00:00")},                               // skips April
		{"0 0 29 2 *", utc("2026-03-01 00:00"), utc("2028-02-29 00:00")},                               // leap day
		{"30 2 * * *", time.Date(2026, 3, 7, 12, 0, 0, 0, ny), time.Date(2026, 3, 9, 2, 30, 0, 0, ny)}, // 2:30 does not exist on 8 March
		{"TZ=UTC 0 12 * * *", time.Date(2026, 3, 1, 0, 0, 0, 0, ny), time.Date(2026, 3, 1, 7, 0, 0, 0, ny)},
		{"@every 90s", utc("2026-03-01 10:00"), utc("2026-03-01 10:01").Add(30 * time.Second)},
	} {
		s, err := ParseSchedule(tc.spec)
		if err != nil {
			t.Errorf("ParseSchedule(%q): %v", tc.spec, err)
			continue
		}
		if got := s.Next(tc.from); !got.Equal(tc.want) {
			t.Errorf("%q.Next(%v) = %v, want %v", tc.spec, tc.from, got, tc.want)
		}
	}
}

func TestParseScheduleErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"":              "empty spec string",
		"* * * *":       "expected exactly 5 fields, found 4: [* * * *]",
		"60 * * * *":    "end of range (60) above maximum (59): 60",
		"* * 0 * *":     "beginning of range (0) below minimum (1): 0",
		"5-1 * * * *":   "beginning of range (5) beyond end of range (1): 5-1",
		"*/0 * * * *":   "step of range should be a positive number: */0",
		"a * * * *":     `failed to parse int from a: strconv.Atoi: parsing "a": invalid syntax`,
		"@sometimes":    "unrecognized descriptor: @sometimes",
		"1-2-3 * * * *": "too many hyphens: 1-2-3",
	} {
		_, err := ParseSchedule(spec)
		if err == nil || err.Error() != want {
			t.Errorf("ParseSchedule(%q) = %v, want %q", spec, err, want)
		}
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"* * * * *", "*/5 1-3 1,15 jan-mar mon", "@hourly", "TZ=UTC 0 0 * * *"} {
		f.Add(s)
	}
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseSchedule(spec)
		if err != nil {
			return
		}
		if next := s.Next(from); !next.IsZero() && !next.After(from) {
			t.Errorf("%q.Next(%v) = %v, not after", spec, from, next)
		}
	})
}
