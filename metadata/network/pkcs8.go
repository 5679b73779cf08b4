package network

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
)

// Encrypted PKCS#8 keys (RFC 5958 EncryptedPrivateKeyInfo, PBES2 of RFC
// 8018: PBKDF2 with HMAC-SHA1/256/512, AES-128/192/256-CBC), as
// `openssl pkcs8 -topk8` writes them and Kafka's ssl.key.password
// decrypts. Only the ASN.1 is parsed here; the cryptography is the
// standard library's (crypto/pbkdf2, crypto/aes, crypto/cipher).
//
//	EncryptedPrivateKeyInfo ::= SEQUENCE {
//	    encryptionAlgorithm  SEQUENCE { OID pbes2, PBES2-params }
//	    encryptedData        OCTET STRING }
//	PBES2-params ::= SEQUENCE {
//	    keyDerivationFunc  SEQUENCE { OID pbkdf2, SEQUENCE { salt OCTET STRING,
//	                        iterationCount INTEGER, keyLength INTEGER OPTIONAL,
//	                        prf AlgorithmIdentifier DEFAULT hmacWithSHA1 } }
//	    encryptionScheme   SEQUENCE { OID aes-N-cbc, iv OCTET STRING } }

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

type encryptedPrivateKeyInfo struct {
	Algo pkix.AlgorithmIdentifier
	Data []byte
}

type pbes2Params struct {
	KDF    pkix.AlgorithmIdentifier
	Scheme pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt      []byte
	Iter      int
	KeyLength int                      `asn1:"optional"`
	PRF       pkix.AlgorithmIdentifier `asn1:"optional"`
}

// maxPBKDF2Iterations bounds the work a key file can ask for.
const maxPBKDF2Iterations = 10_000_000

// ErrKeyDecrypt means an encrypted PEM key could not be decrypted: a wrong
// ssl.key.password, or an encryption zkraft does not read.
var ErrKeyDecrypt = errors.New("network: cannot decrypt private key")

// DecryptPKCS8PEM decrypts an "ENCRYPTED PRIVATE KEY" PEM block with
// password and returns the key as an unencrypted "PRIVATE KEY" PEM.
func DecryptPKCS8PEM(b *pem.Block, password string) ([]byte, error) {
	if b.Type != "ENCRYPTED PRIVATE KEY" {
		return nil, fmt.Errorf("%w: PEM block %q is not an ENCRYPTED PRIVATE KEY", ErrKeyDecrypt, b.Type)
	}
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(b.Bytes, &info); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("%w: not an EncryptedPrivateKeyInfo", ErrKeyDecrypt)
	}
	if !info.Algo.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("%w: encryption %v is not PBES2 (re-encrypt with openssl pkcs8 -topk8 -v2 aes-256-cbc)", ErrKeyDecrypt, info.Algo.Algorithm)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("%w: PBES2 parameters: %w", ErrKeyDecrypt, err)
	}
	if !params.KDF.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("%w: key derivation %v is not PBKDF2", ErrKeyDecrypt, params.KDF.Algorithm)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KDF.Parameters.FullBytes, &kdf); err != nil {
		return nil, fmt.Errorf("%w: PBKDF2 parameters: %w", ErrKeyDecrypt, err)
	}
	if kdf.Iter < 1 || kdf.Iter > maxPBKDF2Iterations {
		return nil, fmt.Errorf("%w: PBKDF2 iteration count %d", ErrKeyDecrypt, kdf.Iter)
	}
	var h func() hash.Hash
	switch prf := kdf.PRF.Algorithm; {
	case len(prf) == 0, prf.Equal(oidHMACSHA1):
		h = sha1.New
	case prf.Equal(oidHMACSHA256):
		h = sha256.New
	case prf.Equal(oidHMACSHA512):
		h = sha512.New
	default:
		return nil, fmt.Errorf("%w: PBKDF2 PRF %v", ErrKeyDecrypt, prf)
	}
	var keyLen int
	switch s := params.Scheme.Algorithm; {
	case s.Equal(oidAES128CBC):
		keyLen = 16
	case s.Equal(oidAES192CBC):
		keyLen = 24
	case s.Equal(oidAES256CBC):
		keyLen = 32
	default:
		return nil, fmt.Errorf("%w: cipher %v is not AES-CBC", ErrKeyDecrypt, s)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.Scheme.Parameters.FullBytes, &iv); err != nil || len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("%w: AES-CBC IV", ErrKeyDecrypt)
	}
	if len(info.Data) == 0 || len(info.Data)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: encrypted data of %d bytes", ErrKeyDecrypt, len(info.Data))
	}
	key, err := pbkdf2.Key(h, password, kdf.Salt, kdf.Iter, keyLen)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyDecrypt, err)
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyDecrypt, err)
	}
	plain := make([]byte, len(info.Data))
	cipher.NewCBCDecrypter(blk, iv).CryptBlocks(plain, info.Data)
	// PKCS#7 padding, then a PKCS#8 key: a wrong password fails one of them.
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > aes.BlockSize {
		return nil, fmt.Errorf("%w: wrong password", ErrKeyDecrypt)
	}
	for _, p := range plain[len(plain)-pad:] {
		if int(p) != pad {
			return nil, fmt.Errorf("%w: wrong password", ErrKeyDecrypt)
		}
	}
	der := plain[:len(plain)-pad]
	if _, err := x509.ParsePKCS8PrivateKey(der); err != nil {
		return nil, fmt.Errorf("%w: wrong password", ErrKeyDecrypt)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
