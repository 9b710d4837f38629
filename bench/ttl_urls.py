"""``ROOT_URLCONF`` of the benchmark's ``ttl`` peer (``TTL_PEER_CACHE=true``): the project's URLs with
every hot view's route behind Django's per-view cache (bench/ttl_peer.py)."""

from bench.ttl_peer import wrap_hot_routes
from config import urls

urlpatterns = wrap_hot_routes(urls.urlpatterns)

handler400 = urls.handler400
handler403 = urls.handler403
handler404 = urls.handler404
handler500 = urls.handler500
