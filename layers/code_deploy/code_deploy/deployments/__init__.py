"""Deployments: the request and its rules (model), its store and the regions' goals (store), accepting
one (accept), the rollout workflow's steps (workflow), the operator's actions (actions) and what a
client reads (view)."""
