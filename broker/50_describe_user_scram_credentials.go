package broker

// DescribeUserScramCredentials (key 50), version 0.
//
// Answered from this broker's image (Kafka's brokers answer from their
// metadata cache): per user its mechanisms and iterations, never a salt or
// key. No users (null or empty) describes every user with a credential. A
// user named twice is DUPLICATE_RESOURCE, a user without credentials
// RESOURCE_NOT_FOUND (Kafka's messages). Needs DESCRIBE on the cluster,
// else the top-level error is CLUSTER_AUTHORIZATION_FAILED.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleDescribeUserScramCredentials(_ context.Context, req *network.Request, body *kmsg.DescribeUserSCRAMCredentialsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	if !b.authorizedCluster(req, opDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	img := b.Image()
	infos := map[string][]kmsg.DescribeUserSCRAMCredentialsResponseResultCredentialInfo{}
	var all []string
	for _, e := range img.ScramCredentials() { // by user, then mechanism
		if _, ok := infos[e.User]; !ok {
			all = append(all, e.User)
		}
		ci := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
		ci.Mechanism, ci.Iterations = int8(e.Mechanism), e.Credential.Iterations
		infos[e.User] = append(infos[e.User], ci)
	}
	result := func(user string) kmsg.DescribeUserSCRAMCredentialsResponseResult {
		r := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		r.User, r.CredentialInfos = user, infos[user]
		return r
	}
	if len(body.Users) == 0 {
		for _, u := range all {
			resp.Results = append(resp.Results, result(u))
		}
		return resp, nil
	}
	count := map[string]int{}
	for _, u := range body.Users {
		count[u.Name]++
	}
	reported := map[string]bool{}
	for _, u := range body.Users {
		if reported[u.Name] {
			continue
		}
		reported[u.Name] = true
		r := result(u.Name)
		switch {
		case count[u.Name] > 1:
			r.CredentialInfos = nil
			r.ErrorCode = kerr.DuplicateResource.Code
			r.ErrorMessage = strPtr("Cannot describe SCRAM credentials for the same user twice in a single request: " + u.Name)
		case len(r.CredentialInfos) == 0:
			r.ErrorCode = kerr.ResourceNotFound.Code
			r.ErrorMessage = strPtr("Attempt to describe a user credential that does not exist: " + u.Name)
		}
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}
