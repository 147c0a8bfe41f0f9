package awsapi

import (
	"errors"
	"net/http"

	"github.com/coffer-dev/coffer/internal/awsapi/sigv4"
	"github.com/coffer-dev/coffer/internal/awsapi/smapi"
	"github.com/coffer-dev/coffer/internal/secrets"
)

// apiError is an error as it goes on the wire: the __type code, the HTTP
// status and the message. Framework errors (authentication, validation,
// protocol) carry a lower-case "message" key as AWS's front end sends them;
// the service's own modeled errors carry "Message".
type apiError struct {
	Code      string
	Status    int
	Message   string
	Framework bool
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// Framework errors that do not come from the domain.
func errUnknownOperation() *apiError {
	return &apiError{Code: "UnknownOperationException", Status: http.StatusBadRequest, Framework: true}
}

func errSerialization(msg string) *apiError {
	return &apiError{Code: "SerializationException", Status: http.StatusBadRequest, Message: msg, Framework: true}
}

func errTooLarge() *apiError {
	return &apiError{Code: "SerializationException", Status: http.StatusRequestEntityTooLarge,
		Message: "Request entity too large.", Framework: true}
}

func errInternal() *apiError {
	return &apiError{Code: "InternalServiceError", Status: http.StatusInternalServerError,
		Message: "An error occurred on the server side."}
}

func errNotSupported(what string) *apiError {
	return &apiError{Code: "InvalidRequestException", Status: http.StatusBadRequest,
		Message: "coffer does not support " + what + " yet."}
}

// toAPIError maps any error an operation returns to its wire form. Errors
// that are not domain, validation or authentication errors become
// InternalServiceError and their text is never sent.
func toAPIError(err error) (*apiError, bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae, true
	}
	var de *secrets.Error
	if errors.As(err, &de) {
		code := de.Kind.Code()
		if code == "" || de.Kind == secrets.KindInternal {
			return errInternal(), de.Kind == secrets.KindInternal
		}
		return &apiError{Code: code, Status: http.StatusBadRequest, Message: de.Message,
			Framework: de.Kind == secrets.KindValidation}, true
	}
	var ve *smapi.ValidationError
	if errors.As(err, &ve) {
		return &apiError{Code: "ValidationException", Status: http.StatusBadRequest, Message: ve.Error(), Framework: true}, true
	}
	var se *sigv4.Error
	if errors.As(err, &se) {
		return &apiError{Code: se.Code, Status: http.StatusBadRequest, Message: se.Message, Framework: true}, true
	}
	return errInternal(), false
}
