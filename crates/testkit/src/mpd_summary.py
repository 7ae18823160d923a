"""Summarises a DASH MPD read on stdin as one JSON line, with Python's own
XML parser: an independent judge of what nova-live renders by hand.

Fails (exit 1) on anything that is not well-formed XML in the MPD namespace.
"""
import json
import re
import sys
import xml.etree.ElementTree as ET

NS = {"m": "urn:mpeg:dash:schema:mpd:2011"}


def seconds(value):
    """xs:duration of the PTnHnMn.nS form, as MPDs use it."""
    if value is None:
        return None
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?", value)
    if not match:
        raise ValueError(f"not an xs:duration: {value}")
    h, m, s = match.groups()
    return int(h or 0) * 3600 + int(m or 0) * 60 + float(s or 0)


root = ET.fromstring(sys.stdin.buffer.read())
if root.tag != "{urn:mpeg:dash:schema:mpd:2011}MPD":
    sys.exit(f"root element is {root.tag}")
summary = {
    "type": root.get("type"),
    "profiles": root.get("profiles"),
    "availabilityStartTime": root.get("availabilityStartTime"),
    "publishTime": root.get("publishTime"),
    "minimumUpdatePeriod": seconds(root.get("minimumUpdatePeriod")),
    "timeShiftBufferDepth": seconds(root.get("timeShiftBufferDepth")),
    "utcTiming": [u.get("value") for u in root.findall("m:UTCTiming", NS)],
    "periods": [],
}
for period in root.findall("m:Period", NS):
    sets = []
    for adaptation in period.findall("m:AdaptationSet", NS):
        representations = []
        for rep in adaptation.findall("m:Representation", NS):
            template = rep.find("m:SegmentTemplate", NS)
            timeline = template.find("m:SegmentTimeline", NS)
            representations.append({
                "id": rep.get("id"),
                "codecs": rep.get("codecs"),
                "bandwidth": int(rep.get("bandwidth")),
                "width": rep.get("width"),
                "timescale": int(template.get("timescale")),
                "presentationTimeOffset": int(template.get("presentationTimeOffset", "0")),
                "initialization": template.get("initialization"),
                "media": template.get("media"),
                "startNumber": int(template.get("startNumber", "1")),
                "segments": [[int(s.get("t")), int(s.get("d"))]
                             for s in timeline.findall("m:S", NS)],
            })
        sets.append({
            "contentType": adaptation.get("contentType"),
            "segmentAlignment": adaptation.get("segmentAlignment"),
            "startWithSAP": adaptation.get("startWithSAP"),
            "representations": representations,
        })
    summary["periods"].append({
        "id": period.get("id"),
        "start": seconds(period.get("start")),
        "adaptationSets": sets,
    })
print(json.dumps(summary))
