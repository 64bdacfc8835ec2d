import pytest

from code_deploy.regions import RegionalBuckets


def test_bucket_names_follow_the_template_pattern_and_map_back():
    buckets = RegionalBuckets.parse("us-west-2, eu-west-1,ap-southeast-2", "stack-builds-1-{region}")
    assert buckets.regions == ("us-west-2", "eu-west-1", "ap-southeast-2")
    assert buckets.bucket_names == [f"stack-builds-1-{r}" for r in ("us-west-2", "eu-west-1", "ap-southeast-2")]
    assert buckets.region_of("stack-builds-1-eu-west-1") == "eu-west-1"


def test_an_unknown_bucket_is_an_error():
    buckets = RegionalBuckets.parse("us-west-2", "stack-builds-{region}")
    with pytest.raises(KeyError, match="belongs to none"):
        buckets.region_of("stack-global-builds")


@pytest.mark.parametrize(
    "regions,pattern",
    [("", "x-{region}"), ("Region_A", "x-{region}"), ("region-a", "x-{region}"), ("us-west-2", "no-placeholder")],
)
def test_bad_configuration_is_refused(regions, pattern):
    with pytest.raises(ValueError):
        RegionalBuckets.parse(regions, pattern)
