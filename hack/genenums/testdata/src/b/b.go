package b

import (
	upstream "example.com/m/a"
)

// Mode re-exports a.Mode.
// +enum
type Mode = upstream.Mode

const (
	// ModeFast goes fast, and this comment is longer than a's so it wins.
	ModeFast Mode = upstream.ModeFast
	// ModeExtra is only declared here.
	ModeExtra Mode = "Extra" + "Plus"
)
