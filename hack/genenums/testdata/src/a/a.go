package a

// Mode is a marked enum.
// +enum
type Mode string

const (
	// ModeFast goes fast,
	// over two lines.
	ModeFast Mode = "Fast"

	ModeSlow Mode = "Slow" // no doc comment, only a line comment

	// ModeDefault is the same value as ModeFast.
	ModeDefault = ModeFast

	// Quoted shows that values are Go-quoted when sorted: "*" < "Fast".
	Quoted = Mode("*")
)

// Legacy is deprecated.
type Legacy = Mode

// ModeOld re-exports a value through the alias.
const ModeOld Legacy = "Old"

// Plain is a string type without the marker.
// +enumerated
type Plain string

// PlainValue is not an enum value.
const PlainValue Plain = "x"

// Level is marked but not a string.
// +enum
type Level int

const (
	// LevelLow is not a string.
	LevelLow Level = iota
	LevelHigh
)
