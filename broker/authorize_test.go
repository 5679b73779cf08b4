package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// handleAs calls the handler directly as principal.
func (h *harness) handleAs(principal string, req kmsg.Request) kmsg.Response {
	h.t.Helper()
	resp, err := h.b.Handle(ctxT(h.t), &network.Request{APIKey: req.Key(), Version: req.GetVersion(), Body: req,
		Listener: "PLAINTEXT", Principal: principal})
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

// newAuthzHarness is a broker with authorization on (super user
// User:admin), topics orders, logs-app, logs-secret and secret, and ACLs:
// alice READ+WRITE on orders and READ on group app; bob READ on the
// prefix logs- and a DENY READ on logs-secret.
func newAuthzHarness(t *testing.T, allowEveryone bool) *harness {
	t.Helper()
	h := newHarness(t, func(c *Config) {
		c.Authorize, c.ACL.SuperUsers, c.ACL.AllowEveryoneIfNoACLFound = true, []string{"User:admin"}, allowEveryone
	})
	for _, name := range []string{"orders", "logs-app", "logs-secret", "secret"} {
		if errs := h.ctrl.CreateTopics(ctxT(t), []metadata.CreateTopicSpec{{Name: name, NumPartitions: 1, ReplicationFactor: 1}}, false); errs[0] != nil {
			t.Fatal(errs[0])
		}
	}
	acl := func(typ metadata.AclResourceType, name string, pat metadata.AclPatternType, who string, op metadata.AclOperation, perm metadata.AclPermission) metadata.Record {
		return metadata.AclRecord(metadata.RandomUuid(), metadata.AclBinding{ResourceType: typ, ResourceName: name,
			PatternType: pat, Principal: who, Host: "*", Operation: op, Permission: perm})
	}
	lit, pre, allow, deny := metadata.AclPatternLiteral, metadata.AclPatternPrefixed, metadata.AclPermissionAllow, metadata.AclPermissionDeny
	h.ctrl.apply(t,
		acl(resTopic, "orders", lit, "User:alice", opRead, allow),
		acl(resTopic, "orders", lit, "User:alice", opWrite, allow),
		acl(resGroup, "app", lit, "User:alice", opRead, allow),
		acl(resTopic, "logs-", pre, "User:bob", opRead, allow),
		acl(resTopic, "logs-secret", lit, "User:bob", opRead, deny),
	)
	return h
}

func authzMetadataReq(topics ...string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	if topics == nil {
		req.Topics = nil
		return req
	}
	for _, name := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = strPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

func authzProduceReq(topic string) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, 1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = buildBatch(batchSpec{producerID: -1, producerEpoch: -1, baseSequence: -1, timestamp: 1, values: []string{"v"}})
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func authzFetchReq(topic string, replica int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MaxBytes, req.SessionEpoch = 11, replica, 1<<20, -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// TestAuthorization is a table of Kafka's KafkaApis authorization rules
// with the principal set on the request (issue 11): who gets which code.
func TestAuthorization(t *testing.T) {
	h := newAuthzHarness(t, false)
	type row struct {
		name      string
		principal string
		req       func() kmsg.Request
		code      func(kmsg.Response) int16
		want      int16
	}
	produceCode := func(r kmsg.Response) int16 { return r.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode }
	fetchCode := func(r kmsg.Response) int16 {
		fr := r.(*network.FileResponse)
		defer fr.Release()
		return fr.Response.(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode
	}
	metaCode := func(r kmsg.Response) int16 { return r.(*kmsg.MetadataResponse).Topics[0].ErrorCode }
	joinReq := func(group string) func() kmsg.Request {
		return func() kmsg.Request {
			r := kmsg.NewPtrJoinGroupRequest()
			r.Version, r.Group, r.SessionTimeoutMillis, r.RebalanceTimeoutMillis, r.ProtocolType = 5, group, 10000, 10000, "consumer"
			r.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
			return r
		}
	}
	joinCode := func(r kmsg.Response) int16 { return r.(*kmsg.JoinGroupResponse).ErrorCode }
	T, G, C := kerr.TopicAuthorizationFailed.Code, kerr.GroupAuthorizationFailed.Code, kerr.ClusterAuthorizationFailed.Code
	X := kerr.TransactionalIDAuthorizationFailed.Code
	rows := []row{
		{"produce with WRITE", "User:alice", func() kmsg.Request { return authzProduceReq("orders") }, produceCode, 0},
		{"produce without WRITE", "User:bob", func() kmsg.Request { return authzProduceReq("orders") }, produceCode, T},
		{"produce as anonymous", network.AnonymousPrincipal, func() kmsg.Request { return authzProduceReq("orders") }, produceCode, T},
		{"produce as super user", "User:admin", func() kmsg.Request { return authzProduceReq("secret") }, produceCode, 0},
		{"fetch with READ", "User:alice", func() kmsg.Request { return authzFetchReq("orders", -1) }, fetchCode, 0},
		{"fetch with a prefixed READ", "User:bob", func() kmsg.Request { return authzFetchReq("logs-app", -1) }, fetchCode, 0},
		{"fetch: deny wins over the prefixed allow", "User:bob", func() kmsg.Request { return authzFetchReq("logs-secret", -1) }, fetchCode, T},
		{"follower fetch without CLUSTER_ACTION", "User:alice", func() kmsg.Request { return authzFetchReq("orders", 2) }, fetchCode, T},
		{"follower fetch as super user", "User:admin", func() kmsg.Request { return authzFetchReq("orders", 2) }, fetchCode, 0},
		{"metadata of a named topic without DESCRIBE", "User:alice", func() kmsg.Request { return authzMetadataReq("secret") }, metaCode, T},
		{"metadata: READ implies DESCRIBE", "User:alice", func() kmsg.Request { return authzMetadataReq("orders") }, metaCode, 0},
		{"join a group with READ reaches the coordinator", "User:alice", joinReq("app"), joinCode, kerr.NotCoordinator.Code}, // no offsets topic here
		{"join a group without READ", "User:alice", joinReq("other"), joinCode, G},
		{"create topics without CREATE", "User:alice", func() kmsg.Request {
			r := kmsg.NewPtrCreateTopicsRequest()
			r.Version = 5
			r.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "new", NumPartitions: 1, ReplicationFactor: 1}}
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode }, T},
		{"delete topics without DELETE", "User:alice", func() kmsg.Request {
			r := kmsg.NewPtrDeleteTopicsRequest()
			r.Version, r.TopicNames = 5, []string{"orders"}
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode }, T},
		{"create acls without ALTER on the cluster", "User:alice", func() kmsg.Request {
			r := kmsg.NewPtrCreateACLsRequest()
			r.Version = 3
			r.Creations = []kmsg.CreateACLsRequestCreation{{ResourceType: kmsg.ACLResourceTypeTopic, ResourceName: "x",
				ResourcePatternType: kmsg.ACLResourcePatternTypeLiteral, Principal: "User:alice", Host: "*",
				Operation: kmsg.ACLOperationAll, PermissionType: kmsg.ACLPermissionTypeAllow}}
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.CreateACLsResponse).Results[0].ErrorCode }, C},
		{"describe acls without DESCRIBE on the cluster", "User:alice", func() kmsg.Request {
			r := kmsg.NewPtrDescribeACLsRequest()
			r.Version, r.ResourceType, r.ResourcePatternType = 3, kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
			r.Operation, r.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeACLsResponse).ErrorCode }, C},
		{"alter scram credentials without ALTER on the cluster", "User:alice", func() kmsg.Request {
			r := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
			r.Deletions = []kmsg.AlterUserSCRAMCredentialsRequestDeletion{{Name: "alice", Mechanism: 1}}
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.AlterUserSCRAMCredentialsResponse).Results[0].ErrorCode }, C},
		{"init producer id without IDEMPOTENT_WRITE but with WRITE on a topic", "User:alice", func() kmsg.Request {
			return kmsg.NewPtrInitProducerIDRequest()
		}, func(r kmsg.Response) int16 { return r.(*kmsg.InitProducerIDResponse).ErrorCode }, 0},
		{"init producer id without any WRITE", "User:bob", func() kmsg.Request {
			return kmsg.NewPtrInitProducerIDRequest()
		}, func(r kmsg.Response) int16 { return r.(*kmsg.InitProducerIDResponse).ErrorCode }, C},
		// Transactions (KafkaApis): WRITE on the TRANSACTIONAL_ID for the
		// producer's requests, DESCRIBE to find or describe it,
		// CLUSTER_ACTION for the brokers' AddPartitionsToTxn v4+.
		{"find a transaction coordinator without DESCRIBE on the id", "User:alice", func() kmsg.Request {
			r := kmsg.NewPtrFindCoordinatorRequest()
			r.Version, r.CoordinatorType, r.CoordinatorKey = 3, 1, "tx"
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.FindCoordinatorResponse).ErrorCode }, X},
		{"init a transactional producer id without WRITE on the id", "User:alice", func() kmsg.Request {
			r := kmsg.NewPtrInitProducerIDRequest()
			r.Version, r.TransactionalID, r.TransactionTimeoutMillis = 4, strPtr("tx"), 60000
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.InitProducerIDResponse).ErrorCode }, X},
		{"init a transactional producer id as super user reaches the coordinator", "User:admin", func() kmsg.Request {
			r := kmsg.NewPtrInitProducerIDRequest()
			r.Version, r.TransactionalID, r.TransactionTimeoutMillis = 4, strPtr("tx"), 60000
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.InitProducerIDResponse).ErrorCode }, kerr.NotCoordinator.Code}, // no state topic here
		{"add partitions to a transaction without WRITE on the id", "User:alice", func() kmsg.Request {
			r := kmsg.NewPtrAddPartitionsToTxnRequest()
			r.Version, r.TransactionalID = 3, "tx"
			r.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "orders", Partitions: []int32{0}}}
			return r
		}, func(r kmsg.Response) int16 {
			return r.(*kmsg.AddPartitionsToTxnResponse).Topics[0].Partitions[0].ErrorCode
		}, X},
		{"verify a transaction (v4) without CLUSTER_ACTION", "User:alice", func() kmsg.Request {
			r := kmsg.NewPtrAddPartitionsToTxnRequest()
			r.Version = 4
			r.Transactions = []kmsg.AddPartitionsToTxnRequestTransaction{{TransactionalID: "tx", VerifyOnly: true,
				Topics: []kmsg.AddPartitionsToTxnRequestTransactionTopic{{Topic: "orders", Partitions: []int32{0}}}}}
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.AddPartitionsToTxnResponse).ErrorCode }, C},
		{"add offsets to a transaction without WRITE on the id", "User:alice", func() kmsg.Request {
			r := kmsg.NewPtrAddOffsetsToTxnRequest()
			r.Version, r.TransactionalID, r.Group = 3, "tx", "app"
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.AddOffsetsToTxnResponse).ErrorCode }, X},
		{"end a transaction without WRITE on the id", "User:alice", func() kmsg.Request {
			r := kmsg.NewPtrEndTxnRequest()
			r.Version, r.TransactionalID = 3, "tx"
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.EndTxnResponse).ErrorCode }, X},
		{"describe a transaction without DESCRIBE on the id", "User:alice", func() kmsg.Request {
			r := kmsg.NewPtrDescribeTransactionsRequest()
			r.TransactionalIDs = []string{"tx"}
			return r
		}, func(r kmsg.Response) int16 {
			return r.(*kmsg.DescribeTransactionsResponse).TransactionStates[0].ErrorCode
		}, X},
		{"describe configs of a topic without DESCRIBE_CONFIGS", "User:alice", func() kmsg.Request {
			r := kmsg.NewPtrDescribeConfigsRequest()
			r.Version = 4
			r.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "orders"}}
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeConfigsResponse).Resources[0].ErrorCode }, T},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if got := r.code(h.handleAs(r.principal, r.req())); got != r.want {
				t.Fatalf("%s: code %d (%v), want %d (%v)", r.principal, got, kerr.ErrorForCode(got), r.want, kerr.ErrorForCode(r.want))
			}
		})
	}

	// An all-topics Metadata shows only what the principal may DESCRIBE.
	for who, want := range map[string][]string{
		"User:alice":               {"orders"},
		"User:bob":                 {"logs-app", "logs-secret"}, // a DENY READ does not deny DESCRIBE
		network.AnonymousPrincipal: nil,
		"User:admin":               {"logs-app", "logs-secret", "orders", "secret"},
	} {
		resp := h.handleAs(who, authzMetadataReq()).(*kmsg.MetadataResponse)
		var got []string
		for _, t := range resp.Topics {
			got = append(got, *t.Topic)
		}
		if len(got) != len(want) {
			t.Fatalf("%s sees %v, want %v", who, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s sees %v, want %v", who, got, want)
			}
		}
	}

	// New ACLs reach the authorizer with the next image: bob may now
	// write orders.
	h.ctrl.apply(t, metadata.AclRecord(metadata.RandomUuid(), metadata.AclBinding{ResourceType: resTopic, ResourceName: "orders",
		PatternType: metadata.AclPatternLiteral, Principal: "User:bob", Host: "*", Operation: opWrite, Permission: metadata.AclPermissionAllow}))
	if code := h.handleAs("User:bob", authzProduceReq("orders")).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("bob after the new ACL: %v", kerr.ErrorForCode(code))
	}
}

// TestAuthorizationAllowEveryone: allow.everyone.if.no.acl.found lets
// anyone use a resource without ACLs, never one with ACLs for others.
func TestAuthorizationAllowEveryone(t *testing.T) {
	h := newAuthzHarness(t, true)
	if code := h.handleAs("User:zed", authzProduceReq("secret")).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("zed on a topic without acls: %v", kerr.ErrorForCode(code))
	}
	if code := h.handleAs("User:zed", authzProduceReq("orders")).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode; code != kerr.TopicAuthorizationFailed.Code {
		t.Fatalf("zed on a topic with acls for alice: %v", kerr.ErrorForCode(code))
	}
}
