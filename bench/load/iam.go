package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// benchPolicy is the identity policy of the user the load runs as: what an
// application is given, read and write on its own secrets, scoped by ARN
// and by a condition, so every request is evaluated for real.
const benchPolicy = `{"Version":"2012-10-17","Statement":[
 {"Sid":"AppSecrets","Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:PutSecretValue","secretsmanager:DescribeSecret"],
  "Resource":"arn:aws:secretsmanager:us-east-1:123456789012:secret:bench/*",
  "Condition":{"StringEquals":{"aws:PrincipalAccount":"123456789012"}}},
 {"Sid":"NoDeletes","Effect":"Deny","Action":"secretsmanager:Delete*","Resource":"*"}]}`

// useIAMUser creates the IAM user bench-app with benchPolicy and an access
// key, through coffer's IAM API signed by the root key, and makes c sign as
// that user from then on.
func (c *client) useIAMUser(ctx context.Context, baseURL string) error {
	for _, form := range []url.Values{
		{"Action": {"CreateUser"}, "UserName": {"bench-app"}},
		{"Action": {"PutUserPolicy"}, "UserName": {"bench-app"}, "PolicyName": {"app"}, "PolicyDocument": {benchPolicy}},
	} {
		if _, err := c.iamCall(ctx, baseURL, form); err != nil {
			return err
		}
	}
	body, err := c.iamCall(ctx, baseURL, url.Values{"Action": {"CreateAccessKey"}, "UserName": {"bench-app"}})
	if err != nil {
		return err
	}
	var out struct {
		ID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
		Secret string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
	}
	if err := xml.Unmarshal(body, &out); err != nil || out.ID == "" || out.Secret == "" {
		return fmt.Errorf("CreateAccessKey: unexpected answer (%v)", err)
	}
	c.creds = aws.Credentials{AccessKeyID: out.ID, SecretAccessKey: out.Secret, Source: "bench"}
	return nil
}

// iamCall sends one IAM Query request signed with c's current credentials.
func (c *client) iamCall(ctx context.Context, baseURL string, form url.Values) ([]byte, error) {
	form.Set("Version", "2010-05-08")
	body := []byte(form.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("iam %s: HTTP %d: %s", form.Get("Action"), resp.StatusCode, bytes.TrimSpace(b))
	}
	return b, nil
}
