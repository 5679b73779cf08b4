package network

import (
	"bytes"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestDecryptPKCS8PEM: keys encrypted by openssl pkcs8 -topk8 (PBES2,
// PBKDF2 with each PRF, AES-128/256-CBC) decrypt to the original PKCS#8
// key; a wrong password is ErrKeyDecrypt.
func TestDecryptPKCS8PEM(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is required by this test (apt-get install -y openssl)")
	}
	dir := t.TempDir()
	plainPath := filepath.Join(dir, "key.pem")
	if out, err := exec.Command(openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", plainPath).CombinedOutput(); err != nil {
		t.Fatalf("genpkey: %v\n%s", err, out)
	}
	plain, err := os.ReadFile(plainPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-v2", "aes-256-cbc"},
		{"-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"},
		{"-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA512", "-iter", "1000"},
	} {
		encPath := filepath.Join(dir, "enc.pem")
		cmd := append([]string{"pkcs8", "-topk8", "-in", plainPath, "-out", encPath, "-passout", "pass:s3cret"}, args...)
		if out, err := exec.Command(openssl, cmd...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", cmd, err, out)
		}
		enc, err := os.ReadFile(encPath)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(enc)
		got, err := DecryptPKCS8PEM(b, "s3cret")
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("%v: decrypted key differs from the original", args)
		}
		if _, err := DecryptPKCS8PEM(b, "wrong"); !errors.Is(err, ErrKeyDecrypt) {
			t.Fatalf("%v: wrong password: %v", args, err)
		}
	}
}

// FuzzDecryptPKCS8PEM: no input panics the decoder.
func FuzzDecryptPKCS8PEM(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00}, "x")
	f.Fuzz(func(t *testing.T, der []byte, password string) {
		_, _ = DecryptPKCS8PEM(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}, password)
	})
}
