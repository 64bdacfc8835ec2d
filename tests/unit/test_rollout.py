from collections import Counter

import pytest

from code_deploy.rollout import BUCKET_SOURCE_PREFIX, RolloutParameters, plan_rollout, rounds_needed


@pytest.mark.parametrize(
    "hosts,seeds,fanout", [(1, 3, 4), (3, 3, 4), (1000, 3, 4), (997, 1, 1), (5000, 10, 8), (0, 3, 4)]
)
def test_every_host_gets_the_artifact_once_from_the_bucket_or_a_peer_that_had_it(hosts, seeds, fanout):
    params = RolloutParameters(hosts=hosts, seeds=seeds, fanout=fanout)
    plan = list(plan_rollout("region-a", "bucket-a", params))

    assert [d.host_index for d in plan] == list(range(hosts))
    assert len({d.host_id for d in plan}) == hosts
    round_of = {d.host_id: d.round for d in plan}
    served = Counter()
    for deployment in plan:
        if deployment.source.startswith(BUCKET_SOURCE_PREFIX):
            assert deployment.round == 0
        else:
            # a peer serves only what it had before this round, to at most `fanout` hosts a round
            assert round_of[deployment.source] < deployment.round
            served[(deployment.source, deployment.round)] += 1
    assert all(count <= fanout for count in served.values())
    assert sum(1 for d in plan if d.round == 0) == min(seeds, hosts)
    assert max((d.round for d in plan), default=0) == rounds_needed(params)


def test_rounds_grow_logarithmically():
    # 3 seeds, fanout 4: 3, 15, 75, 375, 1875 hosts after rounds 0..4
    assert rounds_needed(RolloutParameters(hosts=1000, seeds=3, fanout=4)) == 4
    assert rounds_needed(RolloutParameters(hosts=1875, seeds=3, fanout=4)) == 4
    assert rounds_needed(RolloutParameters(hosts=1876, seeds=3, fanout=4)) == 5


def test_parameters_are_checked():
    with pytest.raises(ValueError):
        RolloutParameters(hosts=10, seeds=0)
    with pytest.raises(ValueError):
        RolloutParameters(hosts=-1)
