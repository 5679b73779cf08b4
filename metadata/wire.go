package metadata

import (
	"encoding/binary"
	"fmt"
	"math"
)

// This file holds the primitives of Kafka's "flexible" message encoding used
// by every metadata record body: big-endian fixed-width integers, unsigned
// varints, compact strings and arrays (length+1 as a uvarint, 0 = null), and
// a trailing tagged-field section.

const maxStringLen = math.MaxInt16 // Kafka rejects longer strings

func appendUvarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }

func appendInt8(dst []byte, v int8) []byte { return append(dst, byte(v)) }

func appendInt16(dst []byte, v int16) []byte { return binary.BigEndian.AppendUint16(dst, uint16(v)) }

func appendUint16(dst []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(dst, v) }

func appendInt32(dst []byte, v int32) []byte { return binary.BigEndian.AppendUint32(dst, uint32(v)) }

func appendInt64(dst []byte, v int64) []byte { return binary.BigEndian.AppendUint64(dst, uint64(v)) }

func appendFloat64(dst []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(v))
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func appendUuid(dst []byte, u Uuid) []byte { return append(dst, u[:]...) }

func appendCompactString(dst []byte, s string) []byte {
	dst = appendUvarint(dst, uint64(len(s))+1)
	return append(dst, s...)
}

func appendCompactNullableString(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, 0)
	}
	return appendCompactString(dst, *s)
}

// appendCompactBytes writes a non-nullable compact bytes field (nil as empty).
func appendCompactBytes(dst []byte, b []byte) []byte {
	dst = appendUvarint(dst, uint64(len(b))+1)
	return append(dst, b...)
}

// appendCompactInt32s writes a non-nullable array (nil is written as empty).
func appendCompactInt32s(dst []byte, a []int32) []byte {
	dst = appendUvarint(dst, uint64(len(a))+1)
	for _, v := range a {
		dst = appendInt32(dst, v)
	}
	return dst
}

// appendCompactNullableInt32s writes nil as the null array.
func appendCompactNullableInt32s(dst []byte, a []int32) []byte {
	if a == nil {
		return append(dst, 0)
	}
	return appendCompactInt32s(dst, a)
}

// taggedFields collects the tagged fields of one struct, written in ascending
// tag order (callers add them in that order).
type taggedFields struct {
	n   int
	buf []byte
}

func (t *taggedFields) add(tag uint64, value []byte) {
	t.n++
	t.buf = appendUvarint(t.buf, tag)
	t.buf = appendUvarint(t.buf, uint64(len(value)))
	t.buf = append(t.buf, value...)
}

func (t *taggedFields) appendTo(dst []byte) []byte {
	dst = appendUvarint(dst, uint64(t.n))
	return append(dst, t.buf...)
}

// reader decodes from a byte slice with a sticky error: after the first
// failure every read returns a zero value, so decoders read straight through
// and check err once. It never panics on short or hostile input.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("at byte %d: %s: %w", r.off, fmt.Sprintf(format, args...), ErrCorruptRecord)
	}
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.remaining() {
		r.fail("%s: need %d bytes, have %d", what, n, r.remaining())
		return nil
	}
	b := r.b[r.off : r.off+n]
	r.off += n
	return b
}

func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("%s: bad unsigned varint", what)
		return 0
	}
	r.off += n
	return v
}

// uvarint32 reads a uvarint that must fit in an int32 (lengths, counts, tags).
func (r *reader) uvarint32(what string) int {
	v := r.uvarint(what)
	if v > math.MaxInt32 {
		r.fail("%s: varint %d out of range", what, v)
		return 0
	}
	return int(v)
}

func (r *reader) int8(what string) int8 {
	b := r.take(1, what)
	if b == nil {
		return 0
	}
	return int8(b[0])
}

func (r *reader) bool(what string) bool {
	b := r.take(1, what)
	if b == nil {
		return false
	}
	switch b[0] {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail("%s: bool byte %d", what, b[0])
	return false
}

func (r *reader) int16(what string) int16 {
	b := r.take(2, what)
	if b == nil {
		return 0
	}
	return int16(binary.BigEndian.Uint16(b))
}

func (r *reader) uint16(what string) uint16 {
	b := r.take(2, what)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

func (r *reader) int32(what string) int32 {
	b := r.take(4, what)
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

func (r *reader) int64(what string) int64 {
	b := r.take(8, what)
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

func (r *reader) float64(what string) float64 {
	b := r.take(8, what)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b))
}

func (r *reader) uuid(what string) Uuid {
	var u Uuid
	copy(u[:], r.take(16, what))
	return u
}

// nullableString reads a compact nullable string; ok=false means null.
func (r *reader) nullableString(what string) (s string, ok bool) {
	n := r.uvarint32(what)
	if r.err != nil {
		return "", false
	}
	if n == 0 {
		return "", false
	}
	n--
	if n > maxStringLen {
		r.fail("%s: string length %d exceeds %d", what, n, maxStringLen)
		return "", false
	}
	b := r.take(n, what)
	if r.err != nil {
		return "", false
	}
	return string(b), true
}

func (r *reader) string(what string) string {
	s, ok := r.nullableString(what)
	if !ok && r.err == nil {
		r.fail("%s: null for non-nullable string", what)
	}
	return s
}

func (r *reader) nullableStringPtr(what string) *string {
	s, ok := r.nullableString(what)
	if !ok {
		return nil
	}
	return &s
}

// bytes reads a non-nullable compact bytes field into a fresh slice
// (empty decodes as an empty, non-nil slice; null is an error).
func (r *reader) bytes(what string) []byte {
	n := r.uvarint32(what)
	if r.err != nil {
		return nil
	}
	if n == 0 {
		r.fail("%s: null for non-nullable bytes", what)
		return nil
	}
	b := r.take(n-1, what)
	if r.err != nil {
		return nil
	}
	return append([]byte{}, b...)
}

// arrayLen reads a compact array length; -1 means null. elemMin is the
// smallest encoded element size, used to reject counts the input cannot hold
// before allocating.
func (r *reader) arrayLen(what string, elemMin int) int {
	n := r.uvarint32(what)
	if r.err != nil {
		return -1
	}
	if n == 0 {
		return -1
	}
	n--
	if n*elemMin > r.remaining() {
		r.fail("%s: array of %d elements does not fit in %d bytes", what, n, r.remaining())
		return -1
	}
	return n
}

// nullableInt32s returns nil for null, and a non-nil (possibly empty) slice otherwise.
func (r *reader) nullableInt32s(what string) []int32 {
	n := r.arrayLen(what, 4)
	if n < 0 {
		return nil
	}
	a := make([]int32, n)
	for i := range a {
		a[i] = r.int32(what)
	}
	return a
}

// int32s reads a non-nullable array; empty decodes as nil (canonical form).
// A null array is accepted as empty: Kafka's earliest PartitionRecord schema
// declared RemovingReplicas/AddingReplicas nullable.
func (r *reader) int32s(what string) []int32 {
	n := r.arrayLen(what, 4)
	if r.err != nil || n <= 0 {
		return nil
	}
	a := make([]int32, n)
	for i := range a {
		a[i] = r.int32(what)
	}
	return a
}

// taggedFields reads the tagged-field section, calling fn for each field with
// a sub-reader over exactly its bytes. fn returns false for an unknown tag,
// which is skipped (Kafka's forward compatibility rule).
func (r *reader) taggedFields(fn func(tag int, fr *reader) bool) {
	n := r.uvarint32("tagged field count")
	for i := 0; i < n && r.err == nil; i++ {
		tag := r.uvarint32("tag")
		size := r.uvarint32("tagged field size")
		b := r.take(size, "tagged field")
		if r.err != nil {
			return
		}
		fr := &reader{b: b}
		if fn == nil || !fn(tag, fr) {
			continue
		}
		if fr.err != nil {
			r.err = fmt.Errorf("tag %d: %w", tag, fr.err)
			return
		}
		if fr.remaining() != 0 {
			r.fail("tag %d: %d trailing bytes", tag, fr.remaining())
			return
		}
	}
}
