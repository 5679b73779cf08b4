package broker

// Authorization (Kafka's KafkaApis.authorize and authHelper), on when
// Config.Authorize is set. Every image Publish receives rebuilds an
// immutable acl.Authorizer when its ACLs changed; handlers load it from an
// atomic.Pointer, so the request path never takes a lock the publisher
// holds. A denial is logged at debug in Kafka's one-line form.

import (
	"fmt"
	"net"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker/acl"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// Short names of the resource types and operations handlers authorize.
const (
	resTopic   = metadata.AclResourceTopic
	resGroup   = metadata.AclResourceGroup
	resCluster = metadata.AclResourceCluster

	resTransactionalID = metadata.AclResourceTransactionalID

	opRead            = metadata.AclOpRead
	opWrite           = metadata.AclOpWrite
	opCreate          = metadata.AclOpCreate
	opDelete          = metadata.AclOpDelete
	opAlter           = metadata.AclOpAlter
	opDescribe        = metadata.AclOpDescribe
	opClusterAction   = metadata.AclOpClusterAction
	opDescribeConfigs = metadata.AclOpDescribeConfigs
	opAlterConfigs    = metadata.AclOpAlterConfigs
	opIdempotentWrite = metadata.AclOpIdempotentWrite
)

// publishAuthorizer rebuilds the authorizer when img's ACLs are not prev's
// (prev nil: the first image). Called by Publish only.
func (b *Broker) publishAuthorizer(prev, img *metadata.Image) {
	if !b.cfg.Authorize || (prev != nil && prev.SecurityShared(img) && b.authz.Load() != nil) {
		return
	}
	b.authz.Store(acl.FromImage(img, b.cfg.ACL))
}

// principalOf is the request's principal, ANONYMOUS when unset.
func principalOf(req *network.Request) string {
	if req.Principal == "" {
		return network.AnonymousPrincipal
	}
	return req.Principal
}

// hostOf is the client's IP address as text ("" when unknown).
func hostOf(req *network.Request) string {
	if req.RemoteAddr == nil {
		return ""
	}
	if h, _, err := net.SplitHostPort(req.RemoteAddr.String()); err == nil {
		return h
	}
	return req.RemoteAddr.String()
}

// authorized decides one action for req; always true with authorization
// off. Denials are logged at debug.
func (b *Broker) authorized(req *network.Request, typ metadata.AclResourceType, name string, op metadata.AclOperation) bool {
	a := b.authz.Load()
	if a == nil {
		return true
	}
	principal, host := principalOf(req), hostOf(req)
	d := a.Authorize(principal, host, acl.Action{ResourceType: typ, ResourceName: name, Operation: op})
	if !d.Allowed() {
		b.denied(req, principal, host, typ.String()+":"+name, op, d)
	}
	return d.Allowed()
}

// authorizedQuietly is authorized without logging a denial (Kafka's
// logIfDenied = false, for filtering an all-topics answer).
func (b *Broker) authorizedQuietly(req *network.Request, typ metadata.AclResourceType, name string, op metadata.AclOperation) bool {
	a := b.authz.Load()
	return a == nil || a.Authorize(principalOf(req), hostOf(req), acl.Action{ResourceType: typ, ResourceName: name, Operation: op}).Allowed()
}

// authorizedCluster is authorized on the cluster resource.
func (b *Broker) authorizedCluster(req *network.Request, op metadata.AclOperation) bool {
	return b.authorized(req, resCluster, metadata.ClusterResourceName, op)
}

// authorizedAnyTopic is Kafka's authorizeByResourceType: op allowed on at
// least one topic (InitProducerId's WRITE rule, KIP-679).
func (b *Broker) authorizedAnyTopic(req *network.Request, op metadata.AclOperation) bool {
	a := b.authz.Load()
	if a == nil {
		return true
	}
	principal, host := principalOf(req), hostOf(req)
	d := a.AuthorizeByResourceType(principal, host, resTopic, op)
	if !d.Allowed() {
		b.denied(req, principal, host, "TOPIC:<any>", op, d)
	}
	return d.Allowed()
}

// authorizing reports whether authorization is on.
func (b *Broker) authorizing() bool { return b.authz.Load() != nil }

// denied logs one denial as Kafka's authorizer logger does ("Principal =
// User:alice is Denied operation = READ from host = 10.0.0.1 on resource =
// TOPIC:orders for request = Fetch").
func (b *Broker) denied(req *network.Request, principal, host, resource string, op metadata.AclOperation, d acl.Decision) {
	if ce := b.authLog.Check(zap.DebugLevel, "Principal = "+principal+" is Denied operation = "+op.String()+
		" from host = "+host+" on resource = "+resource); ce != nil {
		ce.Write(zap.Int16("api_key", req.APIKey), zap.String("reason", d.Reason))
	}
}

// mayCreateTopic: CREATE on the cluster or on the topic (Kafka's rule for
// CreateTopics and auto-creation).
func (b *Broker) mayCreateTopic(req *network.Request, topic string) bool {
	a := b.authz.Load()
	if a == nil {
		return true
	}
	if a.Authorize(principalOf(req), hostOf(req), acl.Action{ResourceType: resCluster,
		ResourceName: metadata.ClusterResourceName, Operation: opCreate}).Allowed() {
		return true // Kafka does not log this first check's denial
	}
	return b.authorized(req, resTopic, topic, opCreate)
}

// topicsDenied returns the names of topics op is denied on (nil with
// authorization off), deciding each name once.
func (b *Broker) topicsDenied(req *network.Request, op metadata.AclOperation, names func(yield func(string) bool)) map[string]bool {
	if !b.authorizing() {
		return nil
	}
	decided := map[string]bool{}
	denied := map[string]bool{}
	for n := range names {
		if decided[n] {
			continue
		}
		decided[n] = true
		if !b.authorized(req, resTopic, n, op) {
			denied[n] = true
		}
	}
	return denied
}

// fetchAuthorizer is topicAuthorizer for Fetch: READ for a consumer.
func (b *Broker) fetchAuthorizer(req *network.Request, follower bool) func(string) error {
	return b.topicAuthorizer(req, follower, opRead)
}

// topicAuthorizer returns the per-topic denial of a partition request
// (nil: everything allowed): a follower (replica id >= 0) needs
// CLUSTER_ACTION on the cluster, else every partition is
// TOPIC_AUTHORIZATION_FAILED, as in Kafka; a client needs op on each
// topic, decided once per topic. Not safe for concurrent use.
func (b *Broker) topicAuthorizer(req *network.Request, follower bool, op metadata.AclOperation) func(string) error {
	if !b.authorizing() {
		return nil
	}
	if follower {
		if b.authorizedCluster(req, opClusterAction) {
			return nil
		}
		return func(topic string) error {
			return fmt.Errorf("%w: replica request without CLUSTER_ACTION (topic %q)", ErrTopicAuthorization, topic)
		}
	}
	decided := map[string]error{}
	return func(topic string) error {
		err, ok := decided[topic]
		if !ok {
			if !b.authorized(req, resTopic, topic, op) {
				err = fmt.Errorf("%w: %s on topic %q", ErrTopicAuthorization, op, topic)
			}
			decided[topic] = err
		}
		return err
	}
}
