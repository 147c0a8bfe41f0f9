package awsapi

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/coffer-dev/coffer/internal/awsapi/sigv4"
	"github.com/coffer-dev/coffer/internal/awsapi/smapi"
	"github.com/coffer-dev/coffer/internal/secrets"
)

func TestToAPIError(t *testing.T) {
	cases := []struct {
		err       error
		code      string
		status    int
		framework bool
		known     bool
	}{
		{&secrets.Error{Kind: secrets.KindResourceNotFound, Message: "m"}, "ResourceNotFoundException", 400, false, true},
		{fmt.Errorf("wrapped: %w", &secrets.Error{Kind: secrets.KindDecryptionFailure, Message: "m"}), "DecryptionFailure", 400, false, true},
		{&secrets.Error{Kind: secrets.KindValidation, Message: "m"}, "ValidationException", 400, true, true},
		{&secrets.Error{Kind: secrets.KindInternal, Message: "m"}, "InternalServiceError", 500, false, true},
		{&smapi.ValidationError{Violations: []string{"v"}}, "ValidationException", 400, true, true},
		{&sigv4.Error{Code: "InvalidSignatureException", Message: "m"}, "InvalidSignatureException", 400, true, true},
		{errUnknownOperation(), "UnknownOperationException", 400, true, true},
		{errors.New("disk on fire"), "InternalServiceError", 500, false, false},
	}
	for _, tc := range cases {
		ae, known := toAPIError(tc.err)
		if ae.Code != tc.code || ae.Status != tc.status || ae.Framework != tc.framework || known != tc.known {
			t.Errorf("toAPIError(%v) = %+v known=%v, want %s %d framework=%v known=%v", tc.err, ae, known, tc.code, tc.status, tc.framework, tc.known)
		}
		if !tc.known && ae.Message == "disk on fire" {
			t.Errorf("an unexpected error's text reached the client")
		}
	}
	// Every domain kind has a code, and only InternalServiceError is a 5xx.
	for k := secrets.KindInternal; k <= secrets.KindPreconditionNotMet; k++ {
		ae, _ := toAPIError(&secrets.Error{Kind: k})
		if k.Code() == "" {
			t.Errorf("kind %d has no AWS code", k)
		}
		if (ae.Status == http.StatusInternalServerError) != (k == secrets.KindInternal) {
			t.Errorf("kind %d answers %d", k, ae.Status)
		}
	}
}

// Every operation of the model has a handler (supported or not).
func TestEveryOperationIsRouted(t *testing.T) {
	for _, name := range smapi.OperationNames {
		if operations[name] == nil {
			t.Errorf("operation %s has no handler", name)
		}
	}
	if len(operations) != len(smapi.OperationNames) {
		t.Errorf("%d handlers for %d operations", len(operations), len(smapi.OperationNames))
	}
}
