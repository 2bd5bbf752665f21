from services.ingest.app import build_app
from shared.server import serve

serve("ingest", build_app, default_port=8101)
