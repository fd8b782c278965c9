/** `quantlens quantize --help`: kept apart from the command so printing it loads no quantizer code. */
export const QUANTIZE_HELP = `Usage: quantlens quantize <model> --out <file> [options]

  --recipe <r.json>             Read the run from a recipe (flags below override it)
  --mode static|dynamic|fp16    Default static
  --calibration <path>          Calibration data: file or folder (npy, npz, pb, IDX, JSON, CSV, images)
  --limit <n>                   Calibration samples to use (default 200)
  --method minmax|percentile|entropy|mse
  --per-channel                 Per-channel weights
  --activation-type int8|uint8|int16|uint16
  --weight-type int8|uint8|int4|int16
  --synthetic <n>               Calibrate on n seeded random samples (loudly flagged; for trials only)
  --image-resize <WxH|S>        Images: resize to WxH, or the shorter side to S (default: the input's size)
  --image-crop <WxH>            Images: centre crop after resizing
  --image-scale 0-1|0-255       Images: pixel value range before mean/std (default 0-1)
  --image-mean <m[,m,m]>        Images: per-channel mean to subtract, in the scaled units
  --image-std <s[,s,s]>         Images: per-channel std to divide by
  --image-color rgb|bgr|grayscale
  --image-layout NCHW|NHWC
  --ranges <file>               Also save the calibrated ranges as JSON
  --save-recipe <file>          Save the recipe used
  --export-ort <file>           Save an equivalent onnxruntime-Python configuration (.json or .py)
  --json                        Print the summary as JSON
  --progress                    Print the steps on stderr (default: when stderr is a terminal)
  -h, --help                    Print this help

Example (static int8, calibrated on 200 MNIST test images):
  quantlens quantize samples/mnist-12.onnx --out mnist-int8.onnx --calibration samples/mnist-200-images-idx3-ubyte.gz --per-channel`;
