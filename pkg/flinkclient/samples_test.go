package flinkclient

// Response bodies shaped after the Flink 1.20 / 2.x REST specification
// (docs/flink-rest.md). They are hand-written, not captured from a running
// Flink; contract tests against real Flink will replace or confirm them.

const (
	testJobID     = "a5e0edd8e66b53f1b89c2041f91b8fd2"
	testTriggerID = "0123456789abcdef0123456789abcdef"
)

const sampleOverview = `{"taskmanagers":2,"slots-total":4,"slots-available":1,
"taskmanagers-blocked":0,"slots-free-and-blocked":0,
"jobs-running":1,"jobs-finished":3,"jobs-cancelled":1,"jobs-failed":0,
"flink-version":"1.20.1","flink-commit":"c3a0e62"}`

const sampleConfig = `{"refresh-interval":3000,"timezone-name":"Coordinated Universal Time",
"timezone-offset":0,"flink-version":"2.0.0","flink-revision":"3f2e1a9 @ 2025-03-14T10:00:00+01:00",
"features":{"web-submit":false,"web-cancel":false,"web-rescale":false,"web-history":false}}`

const sampleJobsOverview = `{"jobs":[{"jid":"a5e0edd8e66b53f1b89c2041f91b8fd2","name":"wordcount",
"start-time":1700000000000,"end-time":-1,"duration":5000,"state":"RUNNING",
"last-modification":1700000001000,"pending-operators":0,
"tasks":{"total":2,"created":0,"scheduled":0,"deploying":0,"running":2,"finished":0,
"canceling":0,"canceled":0,"failed":0,"reconciling":0,"initializing":0}}]}`

const sampleJobDetails = `{"jid":"a5e0edd8e66b53f1b89c2041f91b8fd2","name":"wordcount",
"isStoppable":false,"state":"RUNNING","job-type":"STREAMING","start-time":1700000000000,
"end-time":-1,"duration":5000,"maxParallelism":-1,"now":1700000005000,"pending-operators":0,
"timestamps":{"CREATED":1700000000000,"RUNNING":1700000000500,"FAILED":0},
"vertices":[{"id":"cbc357ccb763df2852fee8c4fc7d55f2","slotSharingGroupId":"x","name":"Source: words",
"maxParallelism":128,"parallelism":2,"status":"RUNNING","start-time":1700000000600,"end-time":-1,
"duration":4400,"tasks":{"RUNNING":2},"metrics":{"read-bytes":0,"read-bytes-complete":true}}],
"status-counts":{"RUNNING":1},
"plan":{"jid":"a5e0edd8e66b53f1b89c2041f91b8fd2","name":"wordcount","type":"STREAMING","nodes":[]}}`

// sampleExceptions1x carries the deprecated top-level fields (Flink 1.x).
const sampleExceptions1x = `{"root-exception":"java.lang.RuntimeException: boom\n\tat Foo.bar(Foo.java:1)",
"timestamp":1700000003000,"all-exceptions":[],"truncated":false,
"exceptionHistory":{"entries":[
{"exceptionName":"java.lang.IllegalStateException","stacktrace":"java.lang.IllegalStateException: old",
"timestamp":1700000002000,"taskName":"Map (1/2)","location":"10.0.0.7:6122","taskManagerId":"tm-1",
"failureLabels":{},"concurrentExceptions":[]},
{"exceptionName":"java.lang.RuntimeException","stacktrace":"java.lang.RuntimeException: boom\n\tat Foo.bar(Foo.java:1)",
"timestamp":1700000003000,"taskName":"Source: words (2/2)","location":"10.0.0.8:6122","endpoint":"10.0.0.8:6122",
"taskManagerId":"tm-2","failureLabels":{"type":"user"},"concurrentExceptions":[]}],
"truncated":true}}`

// sampleExceptions2x has only exceptionHistory (Flink 2.x, FLINK-32688).
const sampleExceptions2x = `{"exceptionHistory":{"entries":[
{"exceptionName":"java.lang.RuntimeException","stacktrace":"java.lang.RuntimeException: boom",
"timestamp":1700000003000,"taskName":"Source: words (2/2)","endpoint":"10.0.0.8:6122",
"taskManagerId":"tm-2","failureLabels":{},"concurrentExceptions":[]}],"truncated":false}}`

const sampleCheckpoints = `{"counts":{"restored":1,"total":4,"in_progress":0,"completed":3,"failed":1},
"summary":{"state_size":{"min":1,"max":2,"avg":1,"p50":1.0,"p90":2.0,"p95":2.0,"p99":2.0,"p999":2.0}},
"latest":{
"completed":{"className":"completed","id":5,"status":"COMPLETED","is_savepoint":false,
"checkpoint_type":"CHECKPOINT","savepointFormat":null,"trigger_timestamp":1700000004000,
"latest_ack_timestamp":1700000004100,"state_size":1024,"end_to_end_duration":100,
"external_path":"s3://bucket/chk/a5e0/chk-5","discarded":false,"tasks":{}},
"savepoint":{"className":"completed","id":4,"status":"COMPLETED","is_savepoint":true,
"checkpoint_type":"SAVEPOINT","savepointFormat":"CANONICAL","trigger_timestamp":1700000003500,
"latest_ack_timestamp":1700000003600,"state_size":2048,"end_to_end_duration":150,
"external_path":"s3://bucket/sp/savepoint-a5e0ed-1","discarded":false},
"failed":{"className":"failed","id":3,"status":"FAILED","is_savepoint":false,
"trigger_timestamp":1700000002000,"failure_timestamp":1700000002500,
"failure_message":"Checkpoint expired before completing."},
"restored":{"id":1,"restore_timestamp":1700000000400,"is_savepoint":true,
"external_path":"s3://bucket/sp/savepoint-old"}},
"history":[]}`

const sampleTrigger = `{"request-id":"0123456789abcdef0123456789abcdef"}`

const sampleSavepointInProgress = `{"status":{"id":"IN_PROGRESS"},"operation":null}`

const sampleSavepointCompleted = `{"status":{"id":"COMPLETED"},
"operation":{"location":"s3://bucket/sp/savepoint-a5e0ed-2","failure-cause":null}}`

const sampleSavepointFailed = `{"status":{"id":"COMPLETED"},"operation":{"failure-cause":{
"class":"java.util.concurrent.CompletionException",
"stack-trace":"java.util.concurrent.CompletionException: Checkpoint Coordinator is suspending.",
"serialized-throwable":"rO0ABXNyAC"}}}`

const sampleDisposalCompleted = `{"status":{"id":"COMPLETED"},"operation":{"failure-cause":null}}`

const sampleFlinkError = `{"errors":["org.apache.flink.runtime.rest.NotFoundException: Job a5e0edd8e66b53f1b89c2041f91b8fd2 not found\n\tat org.apache.flink.runtime.rest.handler.job.AbstractExecutionGraphHandler.lambda$handleRequest$1(AbstractExecutionGraphHandler.java:99)"]}`

const sampleInternalError = `{"errors":["Internal server error.","<Exception on server side:\njava.lang.NullPointerException\n\tat org.apache.flink.runtime.rest.handler.job.JobDetailsHandler.createJobDetailsInfo(JobDetailsHandler.java:120)\n\tat org.apache.flink.runtime.rest.handler.job.JobDetailsHandler.handleRequest(JobDetailsHandler.java:88)\n\tat org.apache.flink.runtime.rest.handler.job.AbstractExecutionGraphHandler.lambda$handleRequest$0(AbstractExecutionGraphHandler.java:87)\n\nEnd of exception on server side>"]}`

const sampleCheckpointingDisabled = `{"errors":["Checkpointing has not been enabled."]}`
