package group

import "testing"

// Values as Java computes them ("hello".hashCode() == 99162322 and
// "polygenelubricants".hashCode() == Integer.MIN_VALUE are well known).
func TestJavaStringHashCodeAndPlacement(t *testing.T) {
	tests := []struct {
		s    string
		hash int32
		p50  int32
	}{
		{"", 0, 0},
		{"hello", 99162322, 22},
		{"group1", -1237460590, 40},
		{"my-consumer-group", 1513705513, 13},
		{"Aa", 2112, 12},
		{"BB", 2112, 12},
		{"polygenelubricants", -1 << 31, 0}, // Utils.abs(MIN_VALUE) = 0
		{"\U0001F600", 1772899, 49},         // a surrogate pair: two UTF-16 units
		{"ümlaut", -1271410363, 13},
	}
	for _, tt := range tests {
		if got := JavaStringHashCode(tt.s); got != tt.hash {
			t.Errorf("JavaStringHashCode(%q) = %d, want %d", tt.s, got, tt.hash)
		}
		if got := PartitionFor(tt.s, 50); got != tt.p50 {
			t.Errorf("PartitionFor(%q, 50) = %d, want %d", tt.s, got, tt.p50)
		}
	}
}
