package cronjob

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule computes the activation times of a cron schedule.
type Schedule interface {
	// Next returns the first activation strictly after t, in t's
	// location, or the zero time if there is none within five years.
	Next(t time.Time) time.Time
}

// field is one cron field: its bounds and the names it accepts.
type field struct {
	min, max int
	names    map[string]int
}

var fields = [5]field{
	{0, 59, nil}, // minute
	{0, 23, nil}, // hour
	{1, 31, nil}, // day of month
	{1, 12, map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}}, // month
	{0, 6, map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}}, // day of week
}

// macros are the descriptors that stand for a five-field schedule.
var macros = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// cronSchedule is a parsed five-field schedule: one bit per allowed value.
type cronSchedule struct {
	minute, hour, dom, month, dow uint64
	// domStar and dowStar record an unrestricted "*" or "?" day field: a
	// day then matches on the other field alone; when both are
	// restricted, either may match (classic cron).
	domStar, dowStar bool
	loc              *time.Location
}

// everySchedule is "@every <duration>".
type everySchedule struct{ d time.Duration }

func (e everySchedule) Next(t time.Time) time.Time {
	return t.Add(e.d - time.Duration(t.Nanosecond()))
}

// ParseSchedule parses a standard cron schedule as upstream's CronJob
// controller accepts it: an optional "TZ=zone " or "CRON_TZ=zone " prefix,
// then a macro (@yearly, @annually, @monthly, @weekly, @daily, @midnight,
// @hourly, "@every <duration>") or five fields (minute, hour, day of
// month, month, day of week) of comma lists of "*", "?", numbers, names,
// ranges "a-b" and steps "/n". Error texts follow upstream's parser.
func ParseSchedule(spec string) (Schedule, error) {
	if spec == "" {
		return nil, fmt.Errorf("empty spec string")
	}
	var loc *time.Location
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		eq := strings.Index(spec, "=")
		sp := strings.Index(spec, " ")
		if sp < 0 {
			sp = len(spec)
		}
		var err error
		if loc, err = time.LoadLocation(spec[eq+1 : sp]); err != nil {
			return nil, fmt.Errorf("provided bad location %s: %v", spec[eq+1:sp], err)
		}
		spec = strings.TrimSpace(spec[sp:])
	}
	if strings.HasPrefix(spec, "@every ") {
		d, err := time.ParseDuration(strings.TrimPrefix(spec, "@every "))
		if err != nil {
			return nil, fmt.Errorf("failed to parse duration %s: %s", spec, err)
		}
		return everySchedule{d: max(d.Truncate(time.Second), time.Second)}, nil
	}
	if strings.HasPrefix(spec, "@") {
		m, ok := macros[spec]
		if !ok {
			return nil, fmt.Errorf("unrecognized descriptor: %s", spec)
		}
		spec = m
	}
	parts := strings.Fields(spec)
	if len(parts) != len(fields) {
		return nil, fmt.Errorf("expected exactly %d fields, found %d: %s", len(fields), len(parts), parts)
	}
	var bits [5]uint64
	var stars [5]bool
	for i, p := range parts {
		for _, expr := range strings.Split(p, ",") {
			b, star, err := parseRange(expr, fields[i])
			if err != nil {
				return nil, err
			}
			bits[i] |= b
			stars[i] = stars[i] || star
		}
	}
	return &cronSchedule{
		minute: bits[0], hour: bits[1], dom: bits[2], month: bits[3], dow: bits[4],
		domStar: stars[2], dowStar: stars[4], loc: loc,
	}, nil
}

// parseRange returns the bits of one comma-separated element and whether
// it was an unrestricted "*" or "?".
func parseRange(expr string, f field) (uint64, bool, error) {
	rangeAndStep := strings.Split(expr, "/")
	lowHigh := strings.Split(rangeAndStep[0], "-")
	var start, end int
	star := false
	if lowHigh[0] == "*" || lowHigh[0] == "?" {
		start, end, star = f.min, f.max, true
	} else {
		var err error
		if start, err = parseValue(lowHigh[0], f.names); err != nil {
			return 0, false, err
		}
		switch len(lowHigh) {
		case 1:
			end = start
		case 2:
			if end, err = parseValue(lowHigh[1], f.names); err != nil {
				return 0, false, err
			}
		default:
			return 0, false, fmt.Errorf("too many hyphens: %s", expr)
		}
	}
	step := 1
	switch len(rangeAndStep) {
	case 1:
	case 2:
		var err error
		if step, err = parseNumber(rangeAndStep[1]); err != nil {
			return 0, false, err
		}
		if len(lowHigh) == 1 {
			end = f.max // "N/step" means "N-max/step"
		}
		if step > 1 {
			star = false
		}
	default:
		return 0, false, fmt.Errorf("too many slashes: %s", expr)
	}
	switch {
	case start < f.min:
		return 0, false, fmt.Errorf("beginning of range (%d) below minimum (%d): %s", start, f.min, expr)
	case end > f.max:
		return 0, false, fmt.Errorf("end of range (%d) above maximum (%d): %s", end, f.max, expr)
	case start > end:
		return 0, false, fmt.Errorf("beginning of range (%d) beyond end of range (%d): %s", start, end, expr)
	case step == 0:
		return 0, false, fmt.Errorf("step of range should be a positive number: %s", expr)
	}
	var b uint64
	for v := start; v <= end; v += step {
		b |= 1 << uint(v)
	}
	return b, star, nil
}

func parseValue(s string, names map[string]int) (int, error) {
	if n, ok := names[strings.ToLower(s)]; ok {
		return n, nil
	}
	return parseNumber(s)
}

func parseNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("failed to parse int from %s: %s", s, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("negative number (%d) not allowed: %s", n, s)
	}
	return n, nil
}

func has(bits uint64, v int) bool { return bits&(1<<uint(v)) != 0 }

func (s *cronSchedule) dayMatches(t time.Time) bool {
	dom, dow := has(s.dom, t.Day()), has(s.dow, int(t.Weekday()))
	if s.domStar || s.dowStar {
		return dom && dow
	}
	return dom || dow
}

// Next walks forward field by field (month, day, hour, minute), jumping
// to the start of the next unit whenever one does not match.
func (s *cronSchedule) Next(t time.Time) time.Time {
	orig := t.Location()
	if s.loc != nil {
		t = t.In(s.loc)
	}
	loc := t.Location()
	t = t.Truncate(time.Minute).Add(time.Minute)
	limit := t.Year() + 5
	for t.Year() <= limit {
		switch {
		case !has(s.month, int(t.Month())):
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
		case !s.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
		case !has(s.hour, t.Hour()):
			next := time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, loc)
			if !next.After(t) { // a DST fall-back repeats the hour
				next = t.Truncate(time.Hour).Add(time.Hour)
			}
			t = next
		case !has(s.minute, t.Minute()):
			t = t.Truncate(time.Minute).Add(time.Minute)
		default:
			return t.In(orig)
		}
	}
	return time.Time{}
}
