from pathlib import Path

from breeze_blue import save

import os

from breeze_blue import BreezeBlue

client = BreezeBlue(api_key=os.environ["BREEZE_API_KEY"])

audio = client.history.download_audio("hist_01haudio")
save(audio, Path("history.mp3"))
