package network

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FileRegion is Len bytes of an open file at Off: record bytes a response
// carries by reference. The file is only ever read with positioned reads
// (sendfile with an offset, ReadAt), never through its shared offset, so
// one *os.File may back regions of many connections at once.
type FileRegion struct {
	File     *os.File
	Off, Len int64
}

// FileResponse is a kmsg response some of whose byte fields (a fetch
// partition's RecordBatches) are file regions that the connection's writer
// sends straight from the file: with sendfile(2) on a plaintext TCP
// connection, else by copying through a pooled buffer (TLS, other conns).
// kmsg still encodes everything: each attached field holds a placeholder
// while kmsg encodes the response, and the writer sends the regions in its
// place with the real length prefix (frameOf).
//
// The handler returns it as its kmsg.Response; the server calls Release
// once the frame was written or dropped. Callers outside the server
// (tests calling Handle) use Materialize.
type FileResponse struct {
	kmsg.Response
	fields  []attachedField
	release []func()
	once    sync.Once
}

type attachedField struct {
	regions []FileRegion
	n       int64
}

// placeholderLen is the size of a placeholder: a per-process random prefix
// and the field's index. Its length prefix is one byte (compact) or four.
const placeholderLen = 16

// placeholderPrefix is random so that no other bytes of a response
// (names, offsets, error codes) can be taken for a placeholder.
var placeholderPrefix = func() [placeholderLen - 4]byte {
	var b [placeholderLen - 4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("network: placeholder prefix: %v", err))
	}
	return b
}()

// NewFileResponse wraps resp.
func NewFileResponse(resp kmsg.Response) *FileResponse {
	return &FileResponse{Response: resp}
}

// Attach returns the placeholder to store in a byte field of the wrapped
// response (a fetch partition's RecordBatches): on the wire that field is
// the concatenation of regions. The field may be copied or moved freely;
// each placeholder must end up in the response exactly once.
func (r *FileResponse) Attach(regions ...FileRegion) []byte {
	var n int64
	for _, g := range regions {
		n += g.Len
	}
	ph := make([]byte, placeholderLen)
	copy(ph, placeholderPrefix[:])
	binary.BigEndian.PutUint32(ph[placeholderLen-4:], uint32(len(r.fields)))
	r.fields = append(r.fields, attachedField{regions: regions, n: n})
	return ph
}

// OnRelease registers fn (unpinning the regions' files) to run once, at
// Release.
func (r *FileResponse) OnRelease(fn func()) { r.release = append(r.release, fn) }

// Release runs the OnRelease functions; later calls do nothing.
func (r *FileResponse) Release() {
	r.once.Do(func() {
		for _, fn := range r.release {
			fn()
		}
	})
}

// RegionBytes is the number of bytes in attached regions.
func (r *FileResponse) RegionBytes() int64 {
	var n int64
	for _, f := range r.fields {
		n += f.n
	}
	return n
}

// Materialize reads every region in, releases the files and returns the
// response decoded by kmsg from the frame the writer would send: a plain
// kmsg response (tests and other callers of Handle).
func (r *FileResponse) Materialize() (kmsg.Response, error) {
	defer r.Release()
	body, err := r.encode()
	if err != nil {
		return nil, err
	}
	out := kmsg.ResponseForKey(r.Key())
	out.SetVersion(r.GetVersion())
	if err := out.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("%w: decode %s: %w", ErrBadResponse, kmsg.NameForKey(r.Key()), err)
	}
	return out, nil
}

// AppendTo appends the full encoding, region bytes read in (a copy); the
// server does not use it.
func (r *FileResponse) AppendTo(dst []byte) []byte {
	body, err := r.encode()
	if err != nil {
		panic(fmt.Sprintf("network: encode file response: %v", err))
	}
	return append(dst, body...)
}

// encode returns the body (no size, correlation id or header tags) with
// the regions read in.
func (r *FileResponse) encode() ([]byte, error) {
	fr, err := frameOf(0, r)
	if err != nil {
		return nil, err
	}
	frame := fr.buf
	if fr.pieces != nil {
		frame = nil
		for _, p := range fr.pieces {
			if p.region == nil {
				frame = append(frame, fr.buf[p.from:p.to]...)
				continue
			}
			start := len(frame)
			frame = append(frame, make([]byte, p.region.Len)...)
			if n, err := p.region.File.ReadAt(frame[start:], p.region.Off); int64(n) < p.region.Len {
				return nil, fmt.Errorf("%w: %d of %d bytes at %d of %s: %v", ErrShortRegion, n, p.region.Len, p.region.Off, p.region.File.Name(), err)
			}
		}
	}
	return frame[4+4+boolInt(r.IsFlexible() && r.Key() != apiVersionsKey):], nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// outFrame is one response frame queued to the writer: buf alone, or
// pieces of buf interleaved with file regions.
type outFrame struct {
	buf     []byte
	pieces  []framePiece // nil: send buf as is
	release func()       // nil or FileResponse.Release
}

// size is the frame's length on the wire: its size prefix plus 4.
func (f outFrame) size() int64 {
	if len(f.buf) < 4 {
		return int64(len(f.buf))
	}
	return int64(binary.BigEndian.Uint32(f.buf)) + 4
}

// done releases the frame's files (after it was written or dropped).
func (f outFrame) done() {
	if f.release != nil {
		f.release()
	}
}

// releaseResponse releases a FileResponse the server will not send.
func releaseResponse(resp kmsg.Response) {
	if fr, ok := resp.(*FileResponse); ok {
		fr.Release()
	}
}

type framePiece struct {
	from, to int         // buf[from:to], when region is nil
	region   *FileRegion // else this region
}

// frameOf encodes one response frame. For a FileResponse it finds each
// placeholder in kmsg's encoding, in encoding order, and replaces it and
// its length prefix by the real prefix (appended to buf after the frame)
// and the field's regions.
func frameOf(correlationID int32, resp kmsg.Response) (outFrame, error) {
	fr, ok := resp.(*FileResponse)
	if !ok {
		return outFrame{buf: appendResponse(nil, correlationID, resp)}, nil
	}
	if len(fr.fields) == 0 {
		return outFrame{buf: appendResponse(nil, correlationID, fr.Response), release: fr.Release}, nil
	}
	buf := appendResponse(nil, correlationID, fr.Response)
	end := len(buf)
	flexible := fr.IsFlexible()
	prefixLen := 4
	if flexible {
		prefixLen = 1 // uvarint(placeholderLen+1)
	}
	out := outFrame{release: fr.Release}
	total := int64(end)
	from, scan := 0, 8
	found := 0
	for found < len(fr.fields) {
		i := bytes.Index(buf[scan:end], placeholderPrefix[:])
		if i < 0 {
			return outFrame{}, fmt.Errorf("%w: %d of %d attached fields found in the encoding", ErrBadResponse, found, len(fr.fields))
		}
		at := scan + i
		scan = at + 1
		if at+placeholderLen > end || at-prefixLen < from {
			continue
		}
		idx := binary.BigEndian.Uint32(buf[at+placeholderLen-4:])
		if !placeholderPrefixOK(buf[at-prefixLen:at], flexible) || int(idx) >= len(fr.fields) {
			continue
		}
		f := fr.fields[idx]
		pstart := len(buf)
		if flexible {
			buf = binary.AppendUvarint(buf, uint64(f.n)+1)
		} else {
			buf = binary.BigEndian.AppendUint32(buf, uint32(f.n))
		}
		out.pieces = append(out.pieces,
			framePiece{from: from, to: at - prefixLen},
			framePiece{from: pstart, to: len(buf)})
		for k := range f.regions {
			if f.regions[k].Len > 0 {
				out.pieces = append(out.pieces, framePiece{region: &f.regions[k]})
			}
		}
		total += int64(len(buf)-pstart) - int64(prefixLen+placeholderLen) + f.n
		from = at + placeholderLen
		scan = from
		found++
	}
	out.pieces = append(out.pieces, framePiece{from: from, to: end})
	if total-4 > 1<<31-1 {
		return outFrame{}, fmt.Errorf("%w: frame of %d bytes", ErrBadResponse, total)
	}
	binary.BigEndian.PutUint32(buf, uint32(total-4))
	out.buf = buf
	return out, nil
}

func placeholderPrefixOK(p []byte, flexible bool) bool {
	if flexible {
		return p[0] == placeholderLen+1
	}
	return binary.BigEndian.Uint32(p) == placeholderLen
}

// TCPConner is implemented by a plaintext net.Conn wrapper (the quorum's
// connection-type multiplexer hands over conns that give back a peeked
// byte) to let the writer send file regions with sendfile on its socket.
// An encrypting conn must never implement it.
type TCPConner interface {
	TCPConn() *net.TCPConn // nil when the wrapped conn is not TCP
}

// copyBufs are the pooled buffers of the copying path (TLS and other
// non-TCP connections): no allocation of the response's size per fetch.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// writeFrame sends one frame on nc: plain bytes with Write, regions with
// sendfile when nc is a *net.TCPConn (sendRegion), else through a pooled
// buffer. A region that reads short (its file was truncated) fails the
// write: the caller closes the connection, so the stream is never torn.
func writeFrame(nc net.Conn, f outFrame) error {
	if f.pieces == nil {
		_, err := nc.Write(f.buf)
		return err
	}
	tcp, _ := nc.(*net.TCPConn)
	if w, ok := nc.(TCPConner); ok && tcp == nil {
		tcp = w.TCPConn()
	}
	if tcp != nil && len(f.pieces) > 1 {
		// One frame, several writes: send them as full segments (cork).
		if err := cork(tcp, true); err != nil {
			return err
		}
		err := writePieces(nc, tcp, f)
		if uerr := cork(tcp, false); err == nil {
			err = uerr
		}
		return err
	}
	return writePieces(nc, tcp, f)
}

// writePieces writes f's pieces in order: regions with sendfile on tcp
// when set, else copied.
func writePieces(nc net.Conn, tcp *net.TCPConn, f outFrame) error {
	for _, p := range f.pieces {
		var err error
		switch {
		case p.region == nil:
			if p.to > p.from {
				_, err = nc.Write(f.buf[p.from:p.to])
			}
		case tcp != nil:
			err = sendRegion(tcp, *p.region)
		default:
			err = copyRegion(nc, *p.region)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// copyRegion writes r to w through a pooled buffer.
func copyRegion(w io.Writer, r FileRegion) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for off, left := r.Off, r.Len; left > 0; {
		n, err := r.File.ReadAt(buf[:min(int64(len(buf)), left)], off)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			off += int64(n)
			left -= int64(n)
		}
		if left > 0 && err != nil {
			if err == io.EOF {
				return fmt.Errorf("%w: %s: %d bytes missing at %d", ErrShortRegion, r.File.Name(), left, off)
			}
			return err
		}
	}
	return nil
}

// FieldLen is how many bytes byte field b of the wrapped response stands
// for on the wire: the regions' length when b is a placeholder Attach
// returned, else len(b) (metrics count fetched bytes with it).
func (r *FileResponse) FieldLen(b []byte) int64 {
	if len(b) == placeholderLen && bytes.Equal(b[:placeholderLen-4], placeholderPrefix[:]) {
		if i := binary.BigEndian.Uint32(b[placeholderLen-4:]); int(i) < len(r.fields) {
			return r.fields[i].n
		}
	}
	return int64(len(b))
}
