package group

import "unicode/utf16"

// JavaStringHashCode is Java's String.hashCode: s[0]*31^(n-1) + ... + s[n-1]
// over the UTF-16 code units of s, in int32 arithmetic (wrapping).
func JavaStringHashCode(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// javaAbs is Kafka's Utils.abs: like Math.abs, except that
// Integer.MIN_VALUE maps to 0 instead of staying negative.
func javaAbs(n int32) int32 {
	switch {
	case n == -1<<31:
		return 0
	case n < 0:
		return -n
	default:
		return n
	}
}

// PartitionFor is the __consumer_offsets partition that holds groupID:
// Kafka's GroupMetadataManager.partitionFor, abs(hashCode) % partitions.
// partitions must be > 0.
func PartitionFor(groupID string, partitions int32) int32 {
	return javaAbs(JavaStringHashCode(groupID)) % partitions
}
