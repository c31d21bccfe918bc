package job

import (
	"slices"
	"strconv"
	"strings"
)

// indexSet is a set of completion indexes, read from and written as the
// compressed interval lists of status.completedIndexes ("1,3-5,7").
type indexSet map[int]bool

// parseIndexes reads s, keeping the indexes below limit; malformed parts
// are ignored.
func parseIndexes(s string, limit int) indexSet {
	out := indexSet{}
	if s == "" {
		return out
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for i := max(a, 0); i <= b && i < limit; i++ {
			out[i] = true
		}
	}
	return out
}

// String formats the set as ordered, compressed intervals.
func (s indexSet) String() string {
	ix := make([]int, 0, len(s))
	for i := range s {
		ix = append(ix, i)
	}
	slices.Sort(ix)
	var b strings.Builder
	for i := 0; i < len(ix); {
		j := i
		for j+1 < len(ix) && ix[j+1] == ix[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(ix[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(ix[j]))
		}
		i = j + 1
	}
	return b.String()
}
