"""Orchestrator and activity names: the only place they are spelled.

Nouns for orchestrators, verbs for activities (STYLE habit 3). Run statuses live in
``shared.contracts.RunStatus``.
"""

from __future__ import annotations

# Orchestrators
TRAINING_PIPELINE = "training_pipeline"
TRAINING_JOB = "training_job"

# Activities
START_RUN = "start_run"
INGEST_DATASET = "ingest_dataset"
VALIDATE_DATASET = "validate_dataset"
SUBMIT_TRAINING_JOB = "submit_training_job"
GET_TRAINING_JOB_STATUS = "get_training_job_status"
COLLECT_TRAINING_OUTPUT = "collect_training_output"
EVALUATE_MODEL = "evaluate_model"
AWAIT_APPROVAL = "await_approval"
VERIFY_APPROVAL = "verify_approval"
REGISTER_MODEL = "register_model"
DEPLOY_MODEL = "deploy_model"
FINISH_RUN = "finish_run"

# Ingest fan-out (orchestrations/dataset_parts.py): one activity per part of the source
PLAN_DATASET_PARTS = "plan_dataset_parts"
SURVEY_DATASET_PART = "survey_dataset_part"
MERGE_DATASET_SURVEYS = "merge_dataset_surveys"
VALIDATE_DATASET_PART = "validate_dataset_part"
MERGE_DATASET_PARTS = "merge_dataset_parts"

# External events
APPROVAL_EVENT = "approval"
#: Raised on a run's training sub-orchestration when its job ends (functions/training_events.py).
JOB_FINISHED_EVENT = "job_finished"

# Rollouts (orchestrations/rollout.py)
ROLLOUT = "rollout"
START_ROLLOUT = "start_rollout"
CHECK_ROLLOUT = "check_rollout"
DECIDE_ROLLOUT = "decide_rollout"
ROLLOUT_EVENT = "rollout_control"
