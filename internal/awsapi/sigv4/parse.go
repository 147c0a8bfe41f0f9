package sigv4

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	algorithm  = "AWS4-HMAC-SHA256"
	terminator = "aws4_request"
)

// Request is a parsed, not yet verified, signed request. Its exported fields
// come from the client and must not be trusted before Verify succeeds.
type Request struct {
	AccessKeyID   string
	Date          string    // yyyymmdd of the credential scope
	Region        string    // region of the credential scope
	Service       string    // service of the credential scope
	Time          time.Time // request time from X-Amz-Date (or Date)
	SecurityToken string    // X-Amz-Security-Token if present

	stamp         string // request time as it enters the string to sign (yyyyMMddTHHmmssZ)
	scope         string // "<date>/<region>/<service>/aws4_request" as sent
	signedHeaders string // the SignedHeaders list as sent
	signature     [32]byte
	signatureOK   bool // Signature was 64 lowercase hex digits and is in signature
}

// String implements fmt.Stringer without the session token (a credential)
// or the signature, for a Request value as well as a pointer.
func (r Request) String() string {
	token := ""
	if r.SecurityToken != "" {
		token = " SecurityToken:REDACTED"
	}
	return "sigv4.Request{" + r.AccessKeyID + " " + r.scope + token + "}"
}

// GoString implements fmt.GoStringer without the session token.
func (r Request) GoString() string { return r.String() }

// Parse checks the Authorization header syntax, the credential scope
// (terminator aws4_request, service equal to service, a plausible region),
// that host and the date header are signed, and that the scope date equals
// the request date. Failures are *Error values with AWS's codes and texts
// (BEHAVIOUR.md §2.2), checked in the order the AWS front end checks them,
// except that clock skew is left to Verify.
func Parse(r *http.Request, service string) (*Request, error) {
	header := firstValue(r.Header, "Authorization")
	_, rawQuery := rawTarget(r)
	if rawQuery != "" && hasQueryKey(rawQuery, "X-Amz-Algorithm") {
		if header != "" {
			return nil, errBothAuth()
		}
		// Presigned URLs are not supported: SDKs never send them to
		// this service, so they count as carrying no credentials.
		return nil, MissingAuthenticationToken()
	}
	header = strings.Trim(header, " \t")
	if header == "" {
		return nil, MissingAuthenticationToken()
	}

	// The scheme is the first word; key=value pairs follow, separated by
	// commas and/or white space, as the AWS front end splits them.
	alg, params := header, ""
	if i := strings.IndexAny(header, " \t"); i >= 0 {
		alg, params = header[:i], header[i+1:]
	}
	// Other schemes (SigV2's "AWS id:sig", "Bearer ...") carry no SigV4
	// parameters; AWS answers them with the missing-parameter text below.
	var cred, sig, signed string
	if strings.HasPrefix(alg, "AWS4-") {
		for params != "" {
			i := 0
			for i < len(params) && params[i] != ',' && params[i] != ' ' && params[i] != '\t' {
				i++
			}
			tok := params[:i]
			if i < len(params) {
				i++
			}
			params = params[i:]
			if tok == "" {
				continue
			}
			k, v, ok := strings.Cut(tok, "=")
			if !ok {
				return nil, errMissingEqual(tok, header)
			}
			switch k {
			case "Credential":
				cred = v
			case "Signature":
				sig = v
			case "SignedHeaders":
				signed = v
			}
		}
	}

	dateName := "X-Amz-Date"
	stamp := firstValue(r.Header, "X-Amz-Date")
	if stamp == "" {
		dateName = "Date"
		stamp = firstValue(r.Header, "Date")
	}
	if cred == "" || sig == "" || signed == "" || stamp == "" {
		var buf [4]string
		missing := buf[:0]
		if cred == "" {
			missing = append(missing, msgNeedCredential)
		}
		if sig == "" {
			missing = append(missing, msgNeedSignature)
		}
		if signed == "" {
			missing = append(missing, msgNeedSignedHeaders)
		}
		if stamp == "" {
			missing = append(missing, msgNeedDate)
		}
		return nil, errIncomplete(missing, header)
	}

	var t time.Time
	var err error
	if dateName == "X-Amz-Date" {
		t, err = time.Parse(isoBasicLayout, stamp)
	} else {
		t, err = http.ParseTime(stamp) // RFC 1123 and the older HTTP forms
	}
	if err != nil {
		return nil, errBadDate(stamp)
	}
	if dateName == "Date" {
		stamp = isoBasic(t) // the string to sign carries the ISO basic form
	}

	hostSigned, dateSigned := false, false
	for rest := signed; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		switch {
		case strings.EqualFold(name, "host"), name == ":authority":
			hostSigned = true
		case strings.EqualFold(name, dateName):
			dateSigned = true
		}
	}
	if !hostSigned {
		return nil, errHostNotSigned()
	}
	if !dateSigned {
		return nil, errDateNotSigned(dateName)
	}
	if alg != algorithm {
		return nil, errAlgorithm(alg)
	}

	// Credential = <AccessKeyId>/<date>/<region>/<service>/aws4_request;
	// trailing slashes are ignored, as AWS does.
	c := strings.TrimRight(cred, "/")
	if strings.Count(c, "/") != 4 {
		return nil, errCredentialParts(cred)
	}
	akid, scope, _ := strings.Cut(c, "/")
	date, rest, _ := strings.Cut(scope, "/")
	region, rest, _ := strings.Cut(rest, "/")
	svc, term, _ := strings.Cut(rest, "/")

	reqDate := stamp[:8]
	if !validRegion(region) || svc != service || term != terminator || date != reqDate {
		msg := ""
		if !validRegion(region) {
			msg += msgRegion(region)
		}
		if svc != service {
			msg += msgService(service)
		}
		if term != terminator {
			msg += msgTerminator(term)
		}
		if date != reqDate {
			msg += msgScopeDate(date, reqDate, stamp)
		}
		return nil, &Error{CodeInvalidSignature, msg}
	}

	req := &Request{
		AccessKeyID:   akid,
		Date:          date,
		Region:        region,
		Service:       svc,
		Time:          t,
		SecurityToken: firstValue(r.Header, "X-Amz-Security-Token"),
		stamp:         stamp,
		scope:         scope,
		signedHeaders: signed,
	}
	req.signatureOK = decodeSignature(&req.signature, sig)
	return req, nil
}

// validRegion accepts any syntactically plausible AWS region name:
// lowercase letters, then one or more hyphen-separated groups of lowercase
// letters and digits, ending in a group of digits ("us-east-1",
// "us-gov-west-1", "eusc-de-east-1"). Which regions a deployment serves is
// not this package's concern.
func validRegion(s string) bool {
	if len(s) < 4 || len(s) > 32 {
		return false
	}
	groups := 0
	letters, digits := 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '-' {
			if letters+digits == 0 {
				return false // empty group
			}
			if groups == 0 && (digits != 0 || letters < 2) {
				return false // first group: two or more letters
			}
			if i == len(s) && letters != 0 {
				return false // last group: digits only
			}
			groups++
			letters, digits = 0, 0
			continue
		}
		switch c := s[i]; {
		case 'a' <= c && c <= 'z':
			letters++
		case '0' <= c && c <= '9':
			digits++
		default:
			return false
		}
	}
	return groups >= 3
}

// decodeSignature decodes 64 lowercase hex digits into dst.
func decodeSignature(dst *[32]byte, s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range dst {
		hi, ok1 := fromHex(s[2*i])
		lo, ok2 := fromHex(s[2*i+1])
		if !ok1 || !ok2 {
			*dst = [32]byte{}
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// firstValue returns the first value of the header with the given canonical
// name, or "".
func firstValue(h http.Header, canonicalName string) string {
	if v := h[canonicalName]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// hasQueryKey reports whether the raw query string has a parameter named key.
func hasQueryKey(rawQuery, key string) bool {
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, _, _ := strings.Cut(pair, "=")
		if k == key {
			return true
		}
		if strings.Contains(k, "%") {
			if uk, err := url.QueryUnescape(k); err == nil && uk == key {
				return true
			}
		}
	}
	return false
}
