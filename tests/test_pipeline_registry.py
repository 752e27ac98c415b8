"""The registered pipelines: the default run trains, then judges what it trained."""

from lakehouse_mlops.pipeline_registry import register_pipelines


def test_default_run_judges_the_model_it_trained_after_training():
    default = register_pipelines()["__default__"]
    order = [n.name for n in default.nodes]  # Kedro's execution order
    assert order.index("register_challenger") < order.index("find_candidate")
    assert "challenger_model" not in default.inputs()


def test_promotion_on_its_own_needs_no_training_output():
    promotion = register_pipelines()["promotion"]
    assert promotion.inputs() == {
        "gold_features",
        "gold_labels",
        "params:usecase",
        "params:promotion",
    }
