// Splits a JSON array into the exact text of its elements, so a filtered list sends the
// elements a caller may see byte for byte as Code Ocean wrote them (numbers, escapes, order).

/** Each element's text, or undefined when `text` is not a JSON array. */
export function jsonArrayElements (text: string): Array<{ text: string, value: unknown }> | undefined {
  let values: unknown
  try {
    values = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!Array.isArray(values)) return undefined
  // The text is valid JSON, so only strings and nesting need tracking to find top-level commas.
  const elements: string[] = []
  let depth = 0
  let inString = false
  let start = text.indexOf('[') + 1
  for (let index = start; index < text.length; index++) {
    const char = text[index]
    if (inString) {
      if (char === '\\') index++
      else if (char === '"') inString = false
    } else if (char === '"') {
      inString = true
    } else if (char === '[' || char === '{') {
      depth++
    } else if ((char === ']' || char === '}') && depth > 0) {
      depth--
    } else if (depth === 0 && (char === ',' || char === ']')) {
      const element = text.slice(start, index).trim()
      if (element !== '') elements.push(element)
      start = index + 1
      if (char === ']') break
    }
  }
  return elements.map((element, index) => ({ text: element, value: values[index] }))
}
