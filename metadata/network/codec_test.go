package network

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestDecodeRequest(t *testing.T) {
	versions := map[int16][2]int16{18: {0, 4}, 3: {1, 12}}
	enc := func(r kmsg.Request, v int16, clientID *string) []byte {
		r.SetVersion(v)
		f := kmsg.NewRequestFormatter()
		if clientID != nil {
			f = kmsg.NewRequestFormatter(kmsg.FormatterClientID(*clientID))
		}
		return f.AppendRequest(nil, r, 42)[4:]
	}
	for _, tc := range []struct {
		name     string
		frame    []byte
		versions map[int16][2]int16
		wantErr  error
		wantKey  int16
		wantCID  *string
	}{
		{"metadata v12 flexible", enc(kmsg.NewPtrMetadataRequest(), 12, kmsg.StringPtr("c")), versions, nil, 3, kmsg.StringPtr("c")},
		{"metadata v1 null client id", enc(kmsg.NewPtrMetadataRequest(), 1, nil), versions, nil, 3, nil},
		{"metadata v0 below handler", enc(kmsg.NewPtrMetadataRequest(), 0, nil), versions, ErrUnsupportedVersion, 3, nil},
		{"produce without versioner", enc(kmsg.NewPtrProduceRequest(), 9, nil), nil, nil, 0, nil},
		{"produce not served", enc(kmsg.NewPtrProduceRequest(), 9, nil), versions, ErrUnknownAPIKey, 0, nil},
		{"api versions too new", append([]byte{0, 18, 0, 9, 0, 0, 0, 42, 0xff, 0xff}, 1, 2, 3), versions, errApiVersionsUnsupported, 18, nil},
		{"api versions too new no versioner", []byte{0, 18, 0x7f, 0, 0, 0, 0, 42, 0xff, 0xff}, nil, errApiVersionsUnsupported, 18, nil},
		{"short", []byte{0, 3, 0, 1}, nil, ErrFrameTooSmall, 0, nil},
		{"unknown key", []byte{0x7f, 0, 0, 0, 0, 0, 0, 42, 0xff, 0xff}, nil, ErrUnknownAPIKey, 0, nil},
		{"truncated tags", []byte{0, 3, 0, 12, 0, 0, 0, 42, 0xff, 0xff}, nil, ErrMalformedRequest, 3, nil},
		{"huge header tag count", []byte{0, 3, 0, 12, 0, 0, 0, 42, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f}, nil, ErrMalformedRequest, 3, nil},
		{"garbage body", append([]byte{0, 3, 0, 4, 0, 0, 0, 42, 0xff, 0xff}, 0x7f, 0xff, 0xff, 0xff), nil, ErrMalformedRequest, 3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, body, err := decodeRequest(tc.frame, tc.versions)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if body != nil {
					t.Fatal("body returned with error")
				}
				return
			}
			if h.key != tc.wantKey || body.Key() != tc.wantKey || h.correlationID != 42 || body.GetVersion() != h.version {
				t.Fatalf("header %+v, body key %d v%d", h, body.Key(), body.GetVersion())
			}
			if (h.clientID == nil) != (tc.wantCID == nil) || (h.clientID != nil && *h.clientID != *tc.wantCID) {
				t.Fatalf("client id %v, want %v", h.clientID, tc.wantCID)
			}
		})
	}
}

func TestAppendResponseHeader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		resp    kmsg.Response
		version int16
		tagByte bool
	}{
		{"metadata v8 not flexible", kmsg.NewPtrMetadataResponse(), 8, false},
		{"metadata v9 flexible", kmsg.NewPtrMetadataResponse(), 9, true},
		{"api versions v3 flexible body, plain header", kmsg.NewPtrApiVersionsResponse(), 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.resp.SetVersion(tc.version)
			body := tc.resp.AppendTo(nil)
			b := appendResponse([]byte{9}, 7, tc.resp)
			if b[0] != 9 {
				t.Fatal("dst prefix overwritten")
			}
			b = b[1:]
			hdr := 8
			if tc.tagByte {
				hdr = 9
			}
			if int(binary.BigEndian.Uint32(b)) != len(b)-4 || binary.BigEndian.Uint32(b[4:]) != 7 || len(b) != hdr+len(body) {
				t.Fatalf("frame % x, body %d bytes", b[:hdr], len(body))
			}
			if tc.tagByte && b[8] != 0 {
				t.Fatalf("tag byte %x", b[8])
			}
		})
	}
}

// FuzzDecodeHeader checks the header decoder on any input, and the whole
// request decoder for non-flexible versions. Flexible bodies are left out:
// kmsg's tagged-field loops trust a tag count read from the input and can
// spin for minutes on a few hostile bytes (see doc.go, known gap).
func FuzzDecodeHeader(f *testing.F) {
	for _, r := range []kmsg.Request{kmsg.NewPtrMetadataRequest(), kmsg.NewPtrApiVersionsRequest(), kmsg.NewPtrProduceRequest(), kmsg.NewPtrFetchRequest()} {
		for _, v := range []int16{0, r.MaxVersion()} {
			r.SetVersion(v)
			f.Add(kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz")).AppendRequest(nil, r, 1)[4:])
		}
	}
	f.Add([]byte{0, 18, 0x7f, 0, 0, 0, 0, 42, 0xff, 0xff})
	f.Add([]byte("\x002\x00\x00\x00\x00\x00\x01\x00\x00\xff\xff\xff\xff\x00\x00"))
	versions := map[int16][2]int16{18: {0, 4}, 3: {0, 12}, 0: {3, 11}}
	f.Fuzz(func(t *testing.T, frame []byte) {
		for _, vs := range []map[int16][2]int16{nil, versions} {
			h, req, body, err := decodeHeader(frame, vs)
			if err != nil {
				if req != nil || body != nil {
					t.Fatal("request with error")
				}
				if errors.Is(err, errApiVersionsUnsupported) {
					b := appendResponse(nil, h.correlationID, unsupportedApiVersions(vs))
					if int(binary.BigEndian.Uint32(b)) != len(b)-4 {
						t.Fatal("bad answer frame")
					}
				}
				continue
			}
			if req.Key() != h.key || req.GetVersion() != h.version || len(body) > len(frame) {
				t.Fatalf("decoded %+v into %s v%d", h, kmsg.NameForKey(req.Key()), req.GetVersion())
			}
			if !req.IsFlexible() {
				if _, _, err := decodeRequest(frame, vs); err != nil && !errors.Is(err, ErrMalformedRequest) {
					t.Fatalf("body error without ErrMalformedRequest: %v", err)
				}
			}
		}
	})
}
