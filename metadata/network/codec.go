package network

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// minFrameSize is the smallest request header (v1): api key (2), api
// version (2), correlation id (4) and the client id length (2).
const minFrameSize = 10

// apiVersionsKey is the api key of ApiVersions, whose response header is
// never flexible (KIP-511) and whose unsupported versions get an answer.
const apiVersionsKey = 18

// Versioner is an optional interface of a Handler: the api keys it serves and
// for each the [min, max] versions. When the Handler implements it, the
// server closes a connection that sends a key not in the map or a version
// outside its range, without the handler seeing the request (as Kafka does),
// except for ApiVersions, which gets an UNSUPPORTED_VERSION answer.
type Versioner interface {
	Versions() map[int16][2]int16
}

// header is the decoded request header.
type header struct {
	key, version  int16
	correlationID int32
	clientID      *string
}

// decodeRequest decodes one request frame (without its size prefix).
//
// It returns the header even when it returns an error, once the header was
// readable. versions may be nil (kmsg's ranges only). For an ApiVersions
// request of a version the server cannot serve it returns
// errApiVersionsUnsupported: the caller answers it with v0.
func decodeRequest(frame []byte, versions map[int16][2]int16) (header, kmsg.Request, error) {
	h, req, body, err := decodeHeader(frame, versions)
	if err != nil {
		return h, nil, err
	}
	if err := readBody(req, body); err != nil {
		return h, nil, fmt.Errorf("%w: %s v%d body: %w", ErrMalformedRequest, kmsg.NameForKey(h.key), h.version, err)
	}
	return h, req, nil
}

// decodeHeader decodes the request header and returns the empty kmsg
// request for its key, set to its version, and the body bytes.
func decodeHeader(frame []byte, versions map[int16][2]int16) (h header, req kmsg.Request, body []byte, err error) {
	if len(frame) < minFrameSize {
		return h, nil, nil, fmt.Errorf("%w: %d bytes, header needs %d", ErrFrameTooSmall, len(frame), minFrameSize)
	}
	r := kbin.Reader{Src: frame}
	h.key = r.Int16()
	h.version = r.Int16()
	h.correlationID = r.Int32()
	h.clientID = r.NullableString()
	if !r.Ok() {
		return h, nil, nil, fmt.Errorf("%w: truncated client id in header", ErrMalformedRequest)
	}
	req = kmsg.RequestForKey(h.key)
	if req == nil {
		return h, nil, nil, fmt.Errorf("%w: %d", ErrUnknownAPIKey, h.key)
	}
	lo, hi := int16(0), req.MaxVersion()
	if versions != nil {
		vr, ok := versions[h.key]
		if !ok {
			return h, nil, nil, fmt.Errorf("%w: %d (%s) is not served", ErrUnknownAPIKey, h.key, kmsg.NameForKey(h.key))
		}
		lo, hi = max(lo, vr[0]), min(hi, vr[1])
	}
	if h.version < lo || h.version > hi {
		if h.key == apiVersionsKey && h.version > hi {
			// KIP-511: a client newer than us gets a v0 answer so it can downgrade.
			return h, nil, nil, errApiVersionsUnsupported
		}
		return h, nil, nil, fmt.Errorf("%w: %s v%d, supported v%d..v%d",
			ErrUnsupportedVersion, kmsg.NameForKey(h.key), h.version, lo, hi)
	}
	req.SetVersion(h.version)
	if req.IsFlexible() {
		// kmsg.SkipTags trusts the count and loops that many times even
		// past the end of the input: bound it by the bytes left (each tag
		// takes at least two) before handing over.
		peek := r
		if n := peek.Uvarint(); !peek.Ok() || uint64(n) > uint64(len(peek.Src))/2 {
			return h, nil, nil, fmt.Errorf("%w: bad header tagged fields count", ErrMalformedRequest)
		}
		kmsg.SkipTags(&r)
		if !r.Ok() {
			return h, nil, nil, fmt.Errorf("%w: truncated header tagged fields", ErrMalformedRequest)
		}
	}
	return h, req, r.Src, nil
}

// errApiVersionsUnsupported is internal: answer with an ApiVersions v0 error.
var errApiVersionsUnsupported = fmt.Errorf("%w: ApiVersions", ErrUnsupportedVersion)

// readBody runs kmsg's decoder; a panic in it (hostile input) becomes an error.
func readBody(req kmsg.Request, b []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decoder panic: %v", p)
		}
	}()
	return req.ReadFrom(b)
}

// appendResponse appends one response frame: size, correlation id, the
// header's empty tagged fields when the response is flexible (never for
// ApiVersions, KIP-511), and the body.
func appendResponse(dst []byte, correlationID int32, resp kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	if resp.IsFlexible() && resp.Key() != apiVersionsKey {
		dst = append(dst, 0)
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// unsupportedApiVersions is the v0 ApiVersions answer with UNSUPPORTED_VERSION
// and the keys the server supports, so that the client retries lower.
func unsupportedApiVersions(versions map[int16][2]int16) *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	if versions == nil {
		versions = map[int16][2]int16{apiVersionsKey: {0, kmsg.NewPtrApiVersionsRequest().MaxVersion()}}
	}
	for _, key := range sortedKeys(versions) {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = key, versions[key][0], versions[key][1]
		resp.ApiKeys = append(resp.ApiKeys, k)
	}
	return resp
}

func sortedKeys(m map[int16][2]int16) []int16 {
	return slices.Sorted(maps.Keys(m))
}
