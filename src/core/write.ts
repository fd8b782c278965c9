/** Writes a graph model back in its own format. */
import type { Model } from './model';
import { writeOnnxFile } from './formats/onnx/writer';
import { writeTfliteFile } from './formats/tflite/writer';

export async function writeModelFile(model: Model, outPath: string): Promise<void> {
  if (model.format === 'onnx') await writeOnnxFile(model, outPath);
  else await writeTfliteFile(model, outPath);
}
