package postgres

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
)

// RFC 7914 §11: PBKDF2-HMAC-SHA256 test vectors.
func TestPBKDF2SHA256Vectors(t *testing.T) {
	for _, tc := range []struct {
		pw, salt string
		iter     int
		want     string
	}{
		{"passwd", "salt", 1, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"},
		{"Password", "NaCl", 80000, "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"},
	} {
		got := hex.EncodeToString(pbkdf2SHA256([]byte(tc.pw), []byte(tc.salt), tc.iter, 64))
		if got != tc.want {
			t.Errorf("pbkdf2(%q, %q, %d) = %s, want %s", tc.pw, tc.salt, tc.iter, got, tc.want)
		}
	}
	// A key length that is not a multiple of the hash size.
	if got := hex.EncodeToString(pbkdf2SHA256([]byte("passwd"), []byte("salt"), 1, 40)); got != "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645" {
		t.Errorf("pbkdf2 truncated = %s", got)
	}
}

// RFC 7677 §3: the SCRAM-SHA-256 exchange for user "user", password
// "pencil". The keys derived here must produce the client proof and the
// server signature of the RFC.
func TestSCRAMKeysRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	stored, server := scramKeys("pencil", salt, 4096)
	auth := "n=user,r=rOprNGfwEbeRWgbNEkqO," +
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	clientSig := hmacSHA256(stored, auth)
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	// ClientKey = ClientProof XOR ClientSignature; StoredKey = H(ClientKey).
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ clientSig[i]
	}
	if h := sha256.Sum256(clientKey); !hmac.Equal(h[:], stored) {
		t.Error("StoredKey does not verify RFC 7677's client proof")
	}
	if got := base64.StdEncoding.EncodeToString(hmacSHA256(server, auth)); got != "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" {
		t.Errorf("server signature = %s", got)
	}
}

func TestSCRAMVerifierFormat(t *testing.T) {
	v, err := scramVerifier("Abc123!#%&()*+,-.;<=>?[]^_`{|}~ x")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^SCRAM-SHA-256\$4096:([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$`)
	m := re.FindStringSubmatch(v)
	if m == nil {
		t.Fatalf("verifier %q has not PostgreSQL's format", v)
	}
	if salt, _ := base64.StdEncoding.DecodeString(m[1]); len(salt) != 16 {
		t.Errorf("salt is %d bytes, want 16", len(salt))
	}
	v2, _ := scramVerifier("Abc123!#%&()*+,-.;<=>?[]^_`{|}~ x")
	if v2 == v {
		t.Error("two verifiers share a salt")
	}
	if _, err := quoteLiteral(v); err != nil {
		t.Error(err)
	}
	if _, err := quoteLiteral("SCRAM-SHA-256$1:a'b$c:d"); err == nil {
		t.Error("quoteLiteral accepted a quote")
	}
	for _, bad := range []string{"pässword", "tab\tpw", "nl\n"} {
		if _, err := scramVerifier(bad); err == nil || strings.Contains(err.Error(), bad) {
			t.Errorf("scramVerifier(non printable ASCII) = %v", err)
		}
	}
}
