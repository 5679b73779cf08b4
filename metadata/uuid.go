package metadata

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// Uuid is Kafka's 128-bit id (org.apache.kafka.common.Uuid): the most
// significant 64 bits first, big-endian, as on the wire.
type Uuid [16]byte

// ZeroUuid is Kafka's Uuid.ZERO_UUID (the "no id" value).
var ZeroUuid Uuid

// MetadataTopicID is Kafka's Uuid.METADATA_TOPIC_ID = Uuid(0, 1), the id of
// __cluster_metadata. RandomUuid never returns it.
var MetadataTopicID = Uuid{15: 1}

// String returns the Kafka form: base64url without padding, 22 characters.
func (u Uuid) String() string {
	return base64.RawURLEncoding.EncodeToString(u[:])
}

// MarshalText implements encoding.TextMarshaler (JSON writes the Kafka form).
func (u Uuid) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (u *Uuid) UnmarshalText(b []byte) error {
	v, err := ParseUuid(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// ParseUuid parses the 22-character base64url form written by String.
func ParseUuid(s string) (Uuid, error) {
	var u Uuid
	if len(s) != 22 {
		return u, fmt.Errorf("parse %q: length %d, want 22: %w", s, len(s), ErrInvalidUuid)
	}
	n, err := base64.RawURLEncoding.Strict().Decode(u[:], []byte(s))
	if err != nil || n != 16 {
		return ZeroUuid, fmt.Errorf("parse %q: not base64url: %w", s, ErrInvalidUuid)
	}
	return u, nil
}

// RandomUuid returns a random (version 4) Uuid. Like Kafka's Uuid.randomUuid
// it never returns ZeroUuid, MetadataTopicID, or an id whose string form
// starts with '-' (such ids confuse command-line tools).
func RandomUuid() Uuid {
	for {
		var u Uuid
		if _, err := rand.Read(u[:]); err != nil {
			// crypto/rand.Read never fails on supported platforms (Go >= 1.24
			// crashes the program itself if the kernel source fails).
			continue
		}
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		if u == ZeroUuid || u == MetadataTopicID || u.String()[0] == '-' {
			continue
		}
		return u
	}
}
