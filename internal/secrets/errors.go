package secrets

import "fmt"

// Kind classifies a domain error. Code names the AWS error code of each
// kind; internal/awsapi sends it with the HTTP status, and audit records of
// the rotation engine's own calls carry it.
type Kind int

// The kinds of domain error, named after the AWS error codes they become.
const (
	KindInternal           Kind = iota // InternalServiceError
	KindResourceNotFound               // ResourceNotFoundException
	KindResourceExists                 // ResourceExistsException
	KindInvalidParameter               // InvalidParameterException
	KindInvalidRequest                 // InvalidRequestException
	KindLimitExceeded                  // LimitExceededException
	KindDecryptionFailure              // DecryptionFailure
	KindEncryptionFailure              // EncryptionFailure
	KindValidation                     // ValidationException
	KindInvalidNextToken               // InvalidNextTokenException
	KindPreconditionNotMet             // PreconditionNotMetException
	KindAccessDenied                   // AccessDeniedException
	KindMalformedPolicy                // MalformedPolicyDocumentException
	KindPublicPolicy                   // PublicPolicyException
)

// Code is the AWS error code of k, "" for a value that is not a kind.
func (k Kind) Code() string {
	switch k {
	case KindInternal:
		return "InternalServiceError"
	case KindResourceNotFound:
		return "ResourceNotFoundException"
	case KindResourceExists:
		return "ResourceExistsException"
	case KindInvalidParameter:
		return "InvalidParameterException"
	case KindInvalidRequest:
		return "InvalidRequestException"
	case KindLimitExceeded:
		return "LimitExceededException"
	case KindDecryptionFailure:
		return "DecryptionFailure"
	case KindEncryptionFailure:
		return "EncryptionFailure"
	case KindValidation:
		return "ValidationException"
	case KindInvalidNextToken:
		return "InvalidNextTokenException"
	case KindPreconditionNotMet:
		return "PreconditionNotMetException"
	case KindAccessDenied:
		return "AccessDeniedException"
	case KindMalformedPolicy:
		return "MalformedPolicyDocumentException"
	case KindPublicPolicy:
		return "PublicPolicyException"
	}
	return ""
}

// Error is a domain error whose message is safe to show to the caller: it
// never contains a secret value.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Messages AWS sends, verbatim (see docs/COMPATIBILITY.md for the sources).
const (
	msgSecretNotFound    = "Secrets Manager can't find the specified secret."
	msgInvalidName       = "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
	msgTokenRequired     = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
	msgBothValues        = "You can't specify both a binary secret value and a string secret value in the same secret."
	msgNoValue           = "You must provide either SecretString or SecretBinary."
	msgMarkedForDeletion = "You can't perform this operation on the secret because it was marked for deletion."
	msgScheduledCreate   = "You can't create this secret because a secret with this name is already scheduled for deletion."
	msgAlreadyDeleted    = "You tried to perform the operation on a secret that's currently marked deleted."
	msgStageMismatch     = "You provided a VersionStage that is not associated to the provided VersionId."
	msgDecryption        = "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
	msgEncryption        = "Secrets Manager can't encrypt the protected secret text using the provided KMS key."
	msgRecoveryWindow    = "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
	msgForceAndWindow    = "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
	msgTooManyLabels     = "A secret can't have more than 20 staging labels attached to its versions."

	msgDefaultKeyCrossAccount = "You can't access a secret from a different AWS account if you encrypt the secret with the default KMS service key."
)

func errNotFound() *Error { return &Error{Kind: KindResourceNotFound, Message: msgSecretNotFound} }

func errTokenInUse(token, arn string) *Error {
	return errorf(KindResourceExists, "You can't use ClientRequestToken %s because that value is already in use for a version of secret %s.", token, arn)
}
