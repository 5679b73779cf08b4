package network

import (
	"math/bits"
	"sync"
)

// Produce request frames are read into pooled buffers (conn.readFrame), one
// sync.Pool per power-of-two size from 4 KiB to 16 MiB; larger frames are
// plain allocations. The pools' idle buffers go at the garbage collector's
// pace, so an idle server holds none for long.
const (
	minFrameBufShift = 12 // 4 KiB
	maxFrameBufShift = 24 // 16 MiB
)

var frameBufs [maxFrameBufShift - minFrameBufShift + 1]sync.Pool

// frameBufClass is the pool index for n bytes, or -1 beyond the largest.
func frameBufClass(n int) int {
	if n <= 1<<minFrameBufShift {
		return 0
	}
	shift := bits.Len(uint(n - 1)) // 1<<shift >= n
	if shift > maxFrameBufShift {
		return -1
	}
	return shift - minFrameBufShift
}

// getFrameBuf returns a buffer of at least n bytes (its len is its cap).
func getFrameBuf(n int) *[]byte {
	c := frameBufClass(n)
	if c < 0 {
		b := make([]byte, n)
		return &b
	}
	if b, ok := frameBufs[c].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 1<<(c+minFrameBufShift))
	return &b
}

// putFrameBuf returns b to its pool; buffers no pool size fits are dropped.
func putFrameBuf(b *[]byte) {
	n := cap(*b)
	c := frameBufClass(n)
	if c < 0 || n != 1<<(c+minFrameBufShift) {
		return
	}
	*b = (*b)[:n]
	frameBufs[c].Put(b)
}
