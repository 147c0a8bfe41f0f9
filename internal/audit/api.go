package audit

// This file is the contract between package audit and its callers (the
// front door internal/awsapi, the domains internal/secrets and internal/iam,
// internal/rotation, internal/server and the CLI). Names and signatures are
// fixed; the bodies live in the rest of the package.

import "encoding/json"

// Record is one CloudTrail-shaped audit record (BEHAVIOUR.md §15.2). It
// never holds a secret value: callers pass request parameters without the
// sensitive members (SecretString, SecretBinary, RandomPassword,
// RotationToken, passwords, secret access keys, session tokens).
type Record struct {
	EventVersion        string          `json:"eventVersion"`
	UserIdentity        *UserIdentity   `json:"userIdentity"`
	EventTime           string          `json:"eventTime"` // YYYY-MM-DDTHH:MM:SSZ
	EventSource         string          `json:"eventSource"`
	EventName           string          `json:"eventName"`
	AWSRegion           string          `json:"awsRegion"`
	SourceIPAddress     string          `json:"sourceIPAddress"`
	UserAgent           string          `json:"userAgent"`
	ErrorCode           string          `json:"errorCode,omitempty"`
	ErrorMessage        string          `json:"errorMessage,omitempty"`
	RequestParameters   map[string]any  `json:"requestParameters"`
	ResponseElements    map[string]any  `json:"responseElements"`
	AdditionalEventData map[string]any  `json:"additionalEventData,omitempty"`
	RequestID           string          `json:"requestID"`
	EventID             string          `json:"eventID"`
	ReadOnly            bool            `json:"readOnly"`
	Resources           []Resource      `json:"resources,omitempty"`
	EventType           string          `json:"eventType"` // AwsApiCall, AwsServiceEvent
	ManagementEvent     bool            `json:"managementEvent"`
	EventCategory       string          `json:"eventCategory"`
	RecipientAccountID  string          `json:"recipientAccountId"`
	Extra               json.RawMessage `json:"-"`
}

// UserIdentity is the caller of a record.
type UserIdentity struct {
	Type        string `json:"type,omitempty"` // Root, IAMUser, AssumedRole, AWSService
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
	UserName    string `json:"userName,omitempty"`
	InvokedBy   string `json:"invokedBy,omitempty"`
}

// Resource names a resource a record is about.
type Resource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId"`
	Type      string `json:"type,omitempty"`
}
