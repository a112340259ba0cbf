"""Tests for helpers.scaleout: the scheduler address, and a dashboard link that works everywhere."""

from types import SimpleNamespace

import pytest

from helpers import scaleout


@pytest.mark.parametrize("address", ["127.0.0.1:8786", "http://10.0.0.5:8786", "tcp://host",
                                     "tcp://host:0", "tcp://:8786", "", "  ", None, 8786])
def test_bad_scheduler_addresses(address):
    with pytest.raises(ValueError, match="scheduler address|tcp://"):
        scaleout.check_scheduler_address(address)


def test_scheduler_address_from_environment(monkeypatch):
    monkeypatch.delenv(scaleout.SCHEDULER_ENV, raising=False)
    assert scaleout.scheduler_from_environment() is None
    monkeypatch.setenv(scaleout.SCHEDULER_ENV, " tcp://10.0.0.5:8786 ")
    assert scaleout.scheduler_from_environment() == "tcp://10.0.0.5:8786"
    monkeypatch.setenv(scaleout.SCHEDULER_ENV, "10.0.0.5")
    with pytest.raises(ValueError):
        scaleout.scheduler_from_environment()


def fake_client(address="tcp://127.0.0.1:40000", dashboard=8787):
    services = {"dashboard": dashboard} if dashboard else {}
    return SimpleNamespace(scheduler=SimpleNamespace(address=address),
                           scheduler_info=lambda: {"services": services})


def test_dashboard_link_on_a_laptop():
    assert scaleout.dashboard_link(fake_client(), environ={}) == "http://127.0.0.1:8787/status"
    assert (scaleout.dashboard_link(fake_client("tcp://[::1]:40000", 9000), environ={})
            == "http://[::1]:9000/status")


def test_dashboard_link_behind_jupyterhub_goes_through_the_proxy():
    env = {"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"}
    assert scaleout.dashboard_link(fake_client(dashboard=41234), env) == "/user/ada/proxy/41234/status"


def test_no_dashboard_is_said_plainly(capsys):
    assert scaleout.dashboard_link(fake_client(dashboard=None), environ={}) is None
    scaleout.show_dashboard(fake_client(dashboard=None))
    assert "No dashboard" in capsys.readouterr().out


def test_show_dashboard_prints_the_link(capsys, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    scaleout.show_dashboard(fake_client(dashboard=41234))
    out = capsys.readouterr().out
    assert "/user/ada/proxy/41234/status" in out and "jupyter-server-proxy" in out


@pytest.fixture
def dask_offload_thread():
    """Dask's client starts one idle thread of its own on first use, for good: start it first."""
    utils = pytest.importorskip("distributed.utils")
    utils._offload_executor.submit(int).result(10)


@pytest.mark.timeout(180)
def test_a_local_cluster_shows_a_loopback_dashboard_link(dask_offload_thread, nothing_left_running):
    import distributed
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster, \
            distributed.Client(cluster) as client:
        link = scaleout.dashboard_link(client, environ={})
        assert link is None or link.startswith("http://127.0.0.1:")
        assert client.gather(client.map(lambda x: x + 1, [1, 2])) == [2, 3]  # cloudpickle
