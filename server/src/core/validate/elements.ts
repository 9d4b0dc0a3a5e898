// Elements: their media (`element-no-media`, `element-media-conflict`, `element-image-count`,
// `element-needs-id`, the media checks of their files) and the references in their description.

import type { ElementBlock, Setting, Span } from '../ast';
import { diagnostic } from '../diagnostics';
import { ELEMENT_IMAGES } from '../limits';
import { resolveElement } from '../resolve';
import { FRONTAL_KEY, ID_KEY, IMAGES_KEY, VIDEO_KEY, type Validation } from './context';
import { checkSettings, checkSettingsInText } from './settings';

/** Every check of one (first-defined) element. */
export function checkElement(v: Validation, element: ElementBlock): void {
  checkSettings(v, element.settings, 'element');
  const settings = element.settings;
  const imagesLine = v.lastOf(IMAGES_KEY);
  const imageLines = settings.filter((s) => s.key === 'image');
  const videoLine = v.lastOf(VIDEO_KEY);
  const idLine = v.lastOf(ID_KEY);
  const frontalLine = v.lastOf(FRONTAL_KEY);
  const hasImages = imagesLine !== undefined || imageLines.length > 0;

  // Images as the request builder reads them (resolve.ts): the last `images:` line plus every
  // `image:` line, in document order, empty items dropped.
  const images = resolveElement(element).images.map((item) => ({
    ref: item.ref,
    span: { offset: item.offset, length: item.length } as Span,
  }));

  if (hasImages && videoLine) {
    const later = [imagesLine, imageLines[imageLines.length - 1], videoLine]
      .filter((s): s is Setting => s !== undefined)
      .reduce((a, b) => (b.line > a.line ? b : a));
    v.out.push(
      diagnostic(
        'element-media-conflict',
        later.keySpan,
        `Element \`${element.name}\` has both images and a video: an element is sent with images or a video, not both`,
      ),
    );
  } else if (
    hasImages &&
    (images.length < ELEMENT_IMAGES.min || images.length > ELEMENT_IMAGES.max)
  ) {
    const n = images.length;
    const span =
      n > ELEMENT_IMAGES.max
        ? images[ELEMENT_IMAGES.max].span
        : (() => {
            const last = [imagesLine, imageLines[imageLines.length - 1]]
              .filter((s): s is Setting => s !== undefined)
              .reduce((a, b) => (b.line > a.line ? b : a));
            return last.value
              ? last.valueSpan
              : {
                  offset: last.keySpan.offset,
                  length: last.valueSpan.offset - last.keySpan.offset,
                };
          })();
    v.out.push(
      diagnostic(
        'element-image-count',
        span,
        `${n} image${n === 1 ? '' : 's'}, an element needs ${ELEMENT_IMAGES.min}–${ELEMENT_IMAGES.max}`,
        { count: n },
      ),
    );
  }

  const hasMedia = hasImages || videoLine !== undefined;
  if (v.provider === 'kie') {
    if (!hasMedia) {
      const why = frontalLine
        ? ': a `frontal` image alone is not sent — run Expand Element Views to make the `images`'
        : ': add `images:` (2–4 JPG/PNG) or `video:` (MP4/MOV)';
      v.out.push(
        diagnostic(
          'element-no-media',
          element.headerSpan,
          `Element \`${element.name}\` has nothing to send${why}`,
        ),
      );
    }
  } else if (!idLine) {
    if (!hasMedia) {
      v.out.push(
        diagnostic(
          'element-no-media',
          element.headerSpan,
          `Element \`${element.name}\` has nothing to send: with provider kling add its \`id:\` from Kling's element library`,
        ),
      );
    } else {
      v.out.push(
        diagnostic(
          'element-needs-id',
          element.headerSpan,
          `Element \`${element.name}\` needs an \`id:\`: provider kling sends elements by their id in Kling's element library, not their media`,
        ),
      );
    }
  }

  for (const img of images) v.checkMedia(img.ref, img.span, 'image');
  if (videoLine?.value) v.checkMedia(videoLine.value, videoLine.valueSpan, 'video');
  if (frontalLine?.value) v.checkMedia(frontalLine.value, frontalLine.valueSpan, 'image');

  for (const ref of element.body.refs) {
    if (ref.name !== element.name) v.checkRef(ref);
  }
  checkSettingsInText(v, element.body, 'element');
}
