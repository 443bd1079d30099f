// Package v1beta1 holds the FlinkCluster API, group flinkoperator.k8s.io, version v1beta1.
//
// The types follow the FlinkCluster specification (docs/api.md) field for field, with the JSON
// names of the original FlinkCluster operator so that its manifests apply unchanged. Defaults and
// validation live in the kubebuilder markers below and end up in the generated CRD, so the API
// server applies and enforces them without a webhook.
//
// +k8s:deepcopy-gen=package
// +groupName=flinkoperator.k8s.io
package v1beta1
