// Package tlstest makes throwaway certificate authorities and certificates
// for tests and benchmarks of TLS listeners: an ECDSA P-256 CA and leaf
// certificates it signs, as PEM, valid from an hour ago for a day. It owns
// no goroutines and holds no state beyond the CA's key.
package tlstest
