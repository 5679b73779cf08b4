package broker

// DescribeConfigs (key 32), versions 1-4.
//
// Topic resources (type 2): the topic must exist (else
// UNKNOWN_TOPIC_OR_PARTITION). Every topic config this broker honours is
// listed with its effective value: the topic's override from the image
// (source DYNAMIC_TOPIC_CONFIG) or the broker-level default (source
// STATIC_BROKER_CONFIG when set, DEFAULT_CONFIG when it is Kafka's
// default). Overrides of configs this broker does not know are listed too.
// Synonyms (v1+, when include_synonyms) list the override, then the broker
// key that supplies the default. Topic configs are not read-only.
//
// Broker resources (type 4): this broker's id lists its configuration,
// each entry with its effective value and source (DYNAMIC_BROKER_CONFIG,
// DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG;
// the synonyms are that chain), read-only unless the key is dynamic
// (dynamic_config.go); name "" (the cluster default) lists only the
// dynamic default configs, as Kafka does; another id is INVALID_REQUEST.
// Topic defaults come from the same chain. BROKER_LOGGER (type 8, this
// broker's id) lists the log levels (broker_logger.go). Other resource
// types are INVALID_REQUEST.
//
// config_names filters by exact name (null = all). Documentation (v3+) is
// not provided; config types (v3+) are.

import (
	"context"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleDescribeConfigs(_ context.Context, nreq *network.Request, req *kmsg.DescribeConfigsRequest) (kmsg.Response, error) {
	img := b.Image()
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range req.Resources {
		r := kmsg.NewDescribeConfigsResponseResource()
		r.ResourceType, r.ResourceName = rr.ResourceType, rr.ResourceName
		var entries []configEntry
		var err error
		switch {
		case rr.ResourceType == kmsg.ConfigResourceTypeTopic && !b.authorized(nreq, resTopic, rr.ResourceName, opDescribeConfigs):
			err = fmt.Errorf("%w: DESCRIBE_CONFIGS on topic %q", ErrTopicAuthorization, rr.ResourceName)
		case rr.ResourceType != kmsg.ConfigResourceTypeTopic && !b.authorizedCluster(nreq, opDescribeConfigs):
			err = fmt.Errorf("%w: DESCRIBE_CONFIGS on the cluster", ErrClusterAuthorization)
		default:
			entries, err = b.describeResource(img, rr)
		}
		if err != nil {
			r.ErrorCode, r.ErrorMessage = errorCode(err), errorMessage(err)
			resp.Resources = append(resp.Resources, r)
			continue
		}
		var filter map[string]bool
		if rr.ConfigNames != nil {
			filter = make(map[string]bool, len(rr.ConfigNames))
			for _, n := range rr.ConfigNames {
				filter[n] = true
			}
		}
		for _, e := range entries {
			if filter != nil && !filter[e.name] {
				continue
			}
			c := kmsg.NewDescribeConfigsResponseResourceConfig()
			c.Name, c.Value, c.ReadOnly, c.Source, c.ConfigType = e.name, strPtr(e.value), e.readOnly, e.source, e.typ
			c.IsDefault = e.source == kmsg.ConfigSourceDefaultConfig
			if req.IncludeSynonyms {
				c.ConfigSynonyms = e.synonyms
			}
			r.Configs = append(r.Configs, c)
		}
		resp.Resources = append(resp.Resources, r)
	}
	return resp, nil
}

func (b *Broker) describeResource(img *metadata.Image, rr kmsg.DescribeConfigsRequestResource) ([]configEntry, error) {
	switch rr.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
		if _, ok := img.Topic(rr.ResourceName); !ok {
			return nil, fmt.Errorf("%w: topic %q", ErrUnknownTopic, rr.ResourceName)
		}
		return b.topicConfigEntries(img.Configs(metadata.TopicResource, rr.ResourceName)), nil
	case kmsg.ConfigResourceTypeBroker:
		if rr.ResourceName != "" {
			id, err := strconv.ParseInt(rr.ResourceName, 10, 32)
			if err != nil || int32(id) != b.cfg.NodeID {
				return nil, fmt.Errorf("%w: broker resource %q, this is broker %d", ErrInvalidRequest,
					rr.ResourceName, b.cfg.NodeID)
			}
		}
		if rr.ResourceName == "" {
			return b.defaultBrokerConfigEntries(), nil
		}
		return b.brokerConfigEntries(), nil
	case kmsg.ConfigResourceTypeBrokerLogger:
		return b.loggerConfigEntries(rr.ResourceName)
	default:
		return nil, fmt.Errorf("%w: config resource type %d is not supported", ErrInvalidRequest, rr.ResourceType)
	}
}
