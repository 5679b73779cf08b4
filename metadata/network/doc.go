// Package network is zkraft's SocketServer: the Go counterpart of Kafka's
// SocketServer and its Processors. It owns the TCP listeners and client
// connections, frames and decodes Kafka requests with kmsg, hands them to a
// Handler, and writes the responses back in request order.
//
// It also holds the one Kafka error-code table (errcode.go), below both the
// broker tree and the quorum, so every listener answers an error alike: a
// package declares each sentinel a client can be answered with as
// NewError(msg, kerr.X); the metadata package's plain sentinels get theirs
// here; ErrorCode picks the code of the outermost error in the tree that has
// one, so a wrapper decides by putting its sentinel first and can still wrap
// the cause with %w.
//
// # Goroutines
//
// Per listener one accept loop. Per connection one reader and one writer:
//
//	reader: read frame -> decode -> Handler.Handle -> encode -> out (chan)
//	writer: out -> conn.Write (and sendfile for a FileResponse's regions)
//
// The reader calls the handler itself, so the requests of one connection are
// handled one at a time, in arrival order (Kafka mutes the channel for the
// same reason: reordered produce requests would break idempotent sequence
// numbers). A slow request (a long-poll fetch) delays later requests of its
// own connection only. The writer lets the next request be read and handled
// while the previous response is still being written. When nothing is
// queued for the writer (conn.queued is 0) the reader writes an answer of
// up to 1 MiB itself: no hand-off to another goroutine, whose scheduling
// delay on a busy machine lands on every answer (twice on an RF 3 acks=all
// produce: the follower's fetch answer and the produce's). Produce request
// frames are read into pooled buffers (framepool.go), reused once the
// handler returned (see Handler). Server.Close cancels
// every connection's context, closes listeners and sockets, and waits for
// all of these goroutines.
//
// # TLS
//
// A listener named in Config.TLS (tls.go) wraps each accepted connection
// in crypto/tls; the reader goroutine runs the handshake first, bounded by
// a deadline, so the accept loop never waits on a client. A failed
// handshake (a plaintext client, an untrusted or missing client
// certificate) closes that connection only, logged at debug level. A
// verified client certificate makes the connection's principal
// User:<subject DN> (RFC 2253). ClientSecurity (client.go) is the other
// side: how brokers and controllers dial each other's TLS and SASL
// listeners.
//
// # Invariants
//
//   - Responses leave a connection in the order of their requests; a request
//     whose handler returns (nil, nil) gets no response (acks=0 produce).
//   - A frame larger than MaxRequestBytes (socket.request.max.bytes) or smaller
//     than a request header closes the connection before any body is
//     allocated. Unknown api keys, versions outside kmsg's or the Handler's
//     (Versioner) range, undecodable headers or bodies, handler errors and
//     handler panics close that connection only, after the responses already
//     queued on it have been written.
//   - An ApiVersions request of a version the server cannot serve is answered
//     with an ApiVersions v0 response, ErrorCode 35 (UNSUPPORTED_VERSION) and
//     the supported keys, so the client downgrades (KIP-511).
//   - Every response has the version of its request.
//   - A connection with no request for ConnectionsMaxIdle is closed.
//   - Zero-copy (fileresponse.go): a handler may return a FileResponse, a
//     kmsg response some of whose byte fields are file regions. kmsg encodes
//     it with a 16-byte placeholder (random per process) in each such field;
//     frameOf replaces placeholder and length prefix by the real prefix and
//     the regions, so the framing is kmsg's byte for byte (tested for Fetch
//     v4-13). The writer sends regions with sendfile(2) at explicit offsets
//     on a *net.TCPConn, and copies them through pooled 64 KiB buffers on
//     any other conn (TLS): never a buffer of the response's size. Regions'
//     files stay pinned until the frame is written or dropped (Release runs
//     exactly once, also for frames discarded after a failed write or on
//     close). A region whose file reads short (truncated meanwhile) closes
//     the connection mid-frame rather than sending other bytes. A frame
//     with regions is written corked (TCP_CORK), so its pieces leave as
//     full segments, not one short packet (and one reader wake-up) each.
//   - On a SASL listener (WithSASL, sasl.go) the server itself answers
//     SaslHandshake (17) v0-1 and SaslAuthenticate (36) v0-2, and lists them
//     in ApiVersions answers. Until the connection authenticated, only
//     ApiVersions, SaslHandshake and SaslAuthenticate are accepted (anything
//     else closes it unanswered, as Kafka's IllegalSaslStateException does)
//     and every frame is bounded by SASLMaxReceiveSize
//     (sasl.server.max.receive.size). A failed authentication is answered
//     SASL_AUTHENTICATION_FAILED with Kafka's one message, the same for an
//     unknown user and a wrong password, and the connection closes after
//     that answer is written. Once authenticated, Request.Principal is the
//     exchange's principal (it replaces a TLS client certificate's on
//     SASL_SSL, as in Kafka) for every later request of the connection.
//     After SaslHandshake v0 the tokens come and go as bare size-prefixed
//     frames without Kafka headers (KIP-43's framing).
//
// # Known gap
//
// kmsg's decoders read a tagged-field count from the input and loop that
// many times even once the input is exhausted, so a flexible request of a
// few bytes can keep its connection's reader busy for seconds to minutes
// (one CPU). The header's tagged fields are bounded here before kmsg sees
// them; those inside bodies are not (kmsg v1.15.0 is the newest).
//
// # Wire format
//
// Request frame (all integers big-endian):
//
//	+----------+---------+-------------+----------------+------------------+-----------------+------+
//	| size i32 | key i16 | version i16 | correlation i32| client id: len   | [tagged fields] | body |
//	|          |         |             |                | i16 (-1 = null)  | flexible only   |      |
//	|          |         |             |                | + bytes          | (uvarint count) |      |
//	+----------+---------+-------------+----------------+------------------+-----------------+------+
//	 size counts everything after itself; header v1 is at least 10 bytes.
//
// Response frame:
//
//	+----------+-----------------+-----------------+------+
//	| size i32 | correlation i32 | [tagged fields] | body |
//	+----------+-----------------+-----------------+------+
//	 tagged fields (one 0 byte: none) only for flexible versions, and never
//	 for ApiVersions, whose response header stays v0 so that any client can
//	 read it.
package network
