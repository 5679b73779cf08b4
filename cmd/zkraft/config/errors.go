package config

import "errors"

// Sentinel errors; every returned error wraps one of them with the key, the
// value and where it came from.
var (
	// ErrSyntax is a malformed line of a properties file.
	ErrSyntax = errors.New("config: properties syntax error")
	// ErrUnknownKey is a key that is neither used nor knowingly ignored.
	ErrUnknownKey = errors.New("config: unknown configuration key")
	// ErrInvalidValue is a value that does not parse or is out of range.
	ErrInvalidValue = errors.New("config: invalid value")
	// ErrInconsistent is a combination of keys that contradict each other.
	ErrInconsistent = errors.New("config: inconsistent configuration")
	// ErrBadOverride is an --override argument that is not key=value.
	ErrBadOverride = errors.New("config: bad --override")
)
