from lxml import etree

from tiercrawl.core.walk import Walk

def walk(root: etree._Element, base_url: str) -> Walk: ...
