package weights

import (
	"errors"
	"fmt"
)

// ErrCorrupt marks every error caused by a malformed checkpoint: a bad
// safetensors header, offsets out of range or overlapping, a truncated
// file, an index that disagrees with its shards. Test with errors.Is; the
// message still names the file and, where there is one, the tensor.
var ErrCorrupt = errors.New("weights: corrupt checkpoint")

// ErrUnsupported marks a well-formed tensor whose dtype this runtime does
// not read (anything but BF16, F16 and F32).
var ErrUnsupported = errors.New("weights: unsupported dtype")

// CorruptError describes one corruption: the file (shard) it was found in,
// the tensor when one is involved, and what is wrong. It matches
// ErrCorrupt with errors.Is.
type CorruptError struct {
	File   string // path of the file (or index) that is wrong
	Tensor string // tensor name, "" when the problem is not about one tensor
	Reason string
	Err    error // underlying cause, may be nil
}

// Error returns "weights: corrupt checkpoint: FILE: tensor \"NAME\": reason".
func (e *CorruptError) Error() string {
	msg := "weights: corrupt checkpoint: " + e.File
	if e.Tensor != "" {
		msg += fmt.Sprintf(": tensor %q", e.Tensor)
	}
	msg += ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns the underlying cause.
func (e *CorruptError) Unwrap() error { return e.Err }

func corrupt(file, tensor, format string, args ...any) error {
	return &CorruptError{File: file, Tensor: tensor, Reason: fmt.Sprintf(format, args...)}
}

func corruptWrap(file, tensor string, err error, format string, args ...any) error {
	return &CorruptError{File: file, Tensor: tensor, Reason: fmt.Sprintf(format, args...), Err: err}
}
